using Akka.Actor;
using Akka.Configuration;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Router.Actors.RateLimiting;
using Router.Contracts.RateLimiting;
using Router.Contracts.Serialization;
using static Router.Contracts.RateLimiting.ApiKeyCommands;

namespace Router.Actors.Tests.RateLimiting;

/// <summary>
/// A key's entity on a real journal (Akka.Persistence.Sql on a SQLite file) loses its ActorSystem without the
/// graceful stop (no final flush, no snapshot), as when its process dies; a second ActorSystem then recovers the key
/// from the same file. What was acknowledged as persisted is there to the cent, and only that. The same with a
/// whole node process killed by SIGKILL: Router.Node.Tests' <c>KeyCrashTests</c>.
/// </summary>
public sealed class ApiKeyActorCrashTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private static readonly DateTimeOffset Start = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);
    private static readonly string Hash = ApiKeyHash.Compute("sk-router-crash");
    private static readonly ApiKeyId Id = ApiKeyId.FromKeyHash(Hash);

    private readonly string _database = Path.Combine(Path.GetTempPath(), $"router-apikey-crash-{Guid.NewGuid():N}.db");
    private readonly FakeTimeProvider _clock = new(Start);

    // Two completions make a spend batch; the flush timer never fires on its own within a test.
    private static readonly ApiKeyActorSettings Settings =
        ApiKeyActorSettings.Default with { FlushEveryCompletions = 2, FlushInterval = TimeSpan.FromHours(1) };

    private ActorSystem NewSystem(string name)
    {
        // Journal and snapshot store on one file, as a single node runs them (Router:Persistence:Provider sqlite).
        var config = ConfigurationFactory.ParseString(
            "akka.loglevel = WARNING\n"
            + Store("journal", "akka.persistence.journal.sql", "Akka.Persistence.Sql.Journal.SqlWriteJournal")
            + Store("snapshot-store", "akka.persistence.snapshot-store.sql", "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore")
            + RouterSerializer.Hocon);
        return ActorSystem.Create(name, config);

        string Store(string kind, string plugin, string type) => string.Join('\n',
            $"akka.persistence.{kind}.plugin = \"{plugin}\"",
            $"{plugin}.class = \"{type}, Akka.Persistence.Sql\"",
            $"{plugin}.connection-string = \"Data Source={_database}\"",
            $"{plugin}.provider-name = SQLite.MS",
            $"{plugin}.auto-initialize = on",
            "");
    }

    /// <summary>Starts a fresh ActorSystem on the same file, lets the key recover, and hands it to <paramref name="check"/>.</summary>
    private async Task AfterRestartAsync(string name, Func<IActorRef, Task> check)
    {
        var system = NewSystem(name);
        try
        {
            await check(StartKey(system));
        }
        finally
        {
            await system.Terminate();
        }
    }

    private IActorRef StartKey(ActorSystem system) => system.ActorOf(ApiKeyActor.Props(Id.Value, _clock, Settings));

    private static Task<T> Ask<T>(IActorRef key, object message) => key.Ask<T>(message, Timeout);

    /// <summary>Spend batches are written without holding the entity's mailbox: wait until the journal row is there.</summary>
    private async Task WaitForSpendRowsAsync(int rows)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            await using var connection = new SqliteConnection($"Data Source={_database};Mode=ReadOnly");
            await connection.OpenAsync();
            await using var count = connection.CreateCommand();
            count.CommandText = "SELECT count(*) FROM journal WHERE persistence_id = $id AND manifest = 'ak.e.sp'";
            count.Parameters.AddWithValue("$id", $"apikey-{Id.Value}");
            if (Convert.ToInt32(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) >= rows) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The journal never held {rows} spend batch(es).");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Flushed_spend_is_recovered_exactly_after_the_system_dies_and_the_unflushed_batch_is_all_that_is_lost()
    {
        var first = NewSystem("crash-1");
        var key = StartKey(first);
        Assert.True((await Ask<KeyState>(key, new Upsert(Id, "crash", Hash, null, null, null, 1.00m, BudgetPeriod.Day, ["*"], KeySource.Admin))).Exists);
        for (var i = 1; i <= 3; i++) Assert.True((await Ask<AdmitResult>(key, new Admit(Id, $"r{i}", 10, "m", Hash))).Admitted);
        key.Tell(new Complete(Id, "r1", 10, 10, 0.60m));
        key.Tell(new Complete(Id, "r2", 10, 10, 0.60m)); // the second completion closes a batch of 1.20
        key.Tell(new Complete(Id, "r3", 10, 10, 0.05m)); // stays in memory: the next batch is not full
        Assert.Equal(1.25m, (await Ask<KeyState>(key, new GetState(Id))).SpentUsd);
        await WaitForSpendRowsAsync(1);

        await first.Terminate(); // no StopEntity: no final flush, no snapshot

        await AfterRestartAsync("crash-2", async recovered =>
        {
            var state = await Ask<KeyState>(recovered, new GetState(Id));
            var refused = await Ask<AdmitResult>(recovered, new Admit(Id, "r4", 10, "m", Hash));

            Assert.True(state.Exists);
            Assert.Equal(1.20m, state.SpentUsd);
            Assert.Equal(1.20m, state.TotalSpentUsd);
            Assert.Equal(1.00m, state.BudgetUsd);
            Assert.Equal(0, state.InFlight); // in-flight requests live only in snapshots, and none was taken
            Assert.Equal(AdmitRefusal.BudgetExhausted, refused.Refusal);
            Assert.Equal((long)TimeSpan.FromHours(12).TotalMilliseconds, refused.RetryAfterMs); // until UTC midnight
        });
    }

    [Fact]
    public async Task A_revocation_acknowledged_before_the_system_dies_is_recovered()
    {
        var first = NewSystem("revoke-1");
        var key = StartKey(first);
        await Ask<KeyState>(key, new Upsert(Id, "crash", Hash, 10, null, null, null, BudgetPeriod.Total, ["*"], KeySource.Admin));
        _clock.Advance(TimeSpan.FromMinutes(5));
        var revoked = await Ask<KeyState>(key, new Revoke(Id));
        Assert.True(revoked.Revoked);

        await first.Terminate();

        await AfterRestartAsync("revoke-2", async recovered =>
        {
            var state = await Ask<KeyState>(recovered, new GetState(Id));
            var refused = await Ask<AdmitResult>(recovered, new Admit(Id, "r1", 10, "m", Hash));

            Assert.True(state.Revoked);
            Assert.Equal(Start.AddMinutes(5), state.RevokedAt);
            Assert.Equal(Start, state.CreatedAt);
            Assert.Equal(10, state.Rpm);
            Assert.Equal(AdmitRefusal.Revoked, refused.Refusal);
            Assert.False(refused.Admitted);
            Assert.Null(refused.RetryAfterMs);
        });
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
            if (File.Exists(file)) File.Delete(file);
    }
}
