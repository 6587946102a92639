using Microsoft.Data.Sqlite;
using Router.Actors.Usage;
using Router.Node.Usage;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Usage;

/// <summary>A fresh SQLite file per test, deleted afterwards.</summary>
internal sealed class TempSqliteFile : IDisposable
{
    public TempSqliteFile()
    {
        var dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "router-tests");
        Directory.CreateDirectory(dir);
        FilePath = System.IO.Path.Combine(dir, $"usage-{Guid.NewGuid():N}.db");
    }

    public string FilePath { get; }

    public string ConnectionString => $"Data Source={FilePath}";

    public void Dispose()
    {
        foreach (var file in new[] { FilePath, FilePath + "-wal", FilePath + "-shm" })
            File.Delete(file);
    }
}

public sealed class SqliteUsageStoreTests : UsageStoreContract
{
    private readonly TempSqliteFile _file = new();

    protected override Task<IUsageStore> CreateStoreAsync() =>
        Task.FromResult(UsageStore.Create("sqlite", _file.ConnectionString));

    protected override Task DestroyStoreAsync()
    {
        _file.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Puts_the_file_in_wal_mode()
    {
        await using var connection = new SqliteConnection(_file.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
    }

    [Fact]
    public void Factory_refuses_an_unknown_provider_without_echoing_the_connection_string()
    {
        var ex = Assert.Throws<ArgumentException>(() => UsageStore.Create("mysql", "Server=x;Password=hunter2"));
        Assert.Contains("mysql", ex.Message);
        Assert.DoesNotContain("hunter2", ex.Message);
    }

    [Theory]
    [InlineData("usage; DROP TABLE x")]
    [InlineData("1abc")]
    [InlineData("")]
    public void Refuses_table_names_that_are_not_plain_identifiers(string table) =>
        Assert.Throws<ArgumentException>(() => UsageStore.Create("sqlite", _file.ConnectionString, table));
}
