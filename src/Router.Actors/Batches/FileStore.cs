using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using Router.Actors.Persistence;

namespace Router.Actors.Batches;

/// <summary>A stored file's metadata (OpenAI's file object); <paramref name="KeyId"/> owns it.</summary>
public sealed record StoredFile(string Id, string KeyId, string Purpose, string FileName, long Bytes, DateTimeOffset CreatedAt);

/// <summary>
/// Batch input and output files, and the index of batches per key, in the node's SQL database (the same one
/// as the journal): every node sees every file, and a file outlives the node that received it.
/// </summary>
public interface IFileStore
{
    /// <summary>Stores a file, replacing one with the same id (outputs are rewritten if finalizing repeats).</summary>
    Task PutAsync(StoredFile file, ReadOnlyMemory<byte> content, CancellationToken ct = default);

    Task<StoredFile?> GetAsync(string id, CancellationToken ct = default);

    /// <summary>The file's bytes, or null when there is no such file.</summary>
    Task<byte[]?> ReadContentAsync(string id, CancellationToken ct = default);

    Task AddBatchAsync(string batchId, string keyId, DateTimeOffset createdAt, CancellationToken ct = default);

    /// <summary>The key's batch ids, newest first, starting after <paramref name="after"/> when given.</summary>
    Task<IReadOnlyList<string>> ListBatchesAsync(string keyId, string? after, int limit, CancellationToken ct = default);
}

/// <summary>Picks the file store for the configured <c>Router:Persistence</c> provider.</summary>
public static class FileStore
{
    public static IFileStore Create(string provider, string connectionString) => PersistenceProviders.Parse(provider) switch
    {
        PersistenceProvider.PostgreSql => new AdoFileStore(AdoFileStore.Dialect.Postgres, connectionString),
        _ => new AdoFileStore(AdoFileStore.Dialect.Sqlite, connectionString),
    };
}

/// <summary>
/// Tables <c>router_files</c> (content as BLOB/bytea) and <c>router_batches</c>, created on first use. The SQL is
/// shared; the dialects differ only in the blob type and in SQLite's synchronous "async" API, which is moved to
/// the thread pool so callers never wait on disk.
/// </summary>
internal sealed class AdoFileStore : IFileStore, IAsyncDisposable
{
    public enum Dialect { Sqlite, Postgres }

    private readonly Dialect _dialect;
    private readonly string _connectionString;
    private readonly NpgsqlDataSource? _postgres;
    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private volatile bool _schemaReady;

    public AdoFileStore(Dialect dialect, string connectionString)
    {
        _dialect = dialect;
        _connectionString = connectionString;
        if (dialect == Dialect.Postgres) _postgres = NpgsqlDataSource.Create(connectionString);
        else _ = new SqliteConnectionStringBuilder(connectionString); // a typo stops start-up, without echoing the string
    }

    public Task PutAsync(StoredFile file, ReadOnlyMemory<byte> content, CancellationToken ct = default) => RunAsync(async c =>
    {
        await using var connection = await OpenAsync(c).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO router_files (id, key_id, purpose, filename, bytes, created_ms, content)
            VALUES (@id, @key, @purpose, @name, @bytes, @created, @content)
            ON CONFLICT (id) DO UPDATE SET purpose = excluded.purpose, filename = excluded.filename,
                bytes = excluded.bytes, content = excluded.content
            """;
        Add(command, "@id", file.Id);
        Add(command, "@key", file.KeyId);
        Add(command, "@purpose", file.Purpose);
        Add(command, "@name", file.FileName);
        Add(command, "@bytes", (long)content.Length);
        Add(command, "@created", file.CreatedAt.ToUnixTimeMilliseconds());
        Add(command, "@content", content.ToArray());
        await command.ExecuteNonQueryAsync(c).ConfigureAwait(false);
        return true;
    }, ct);

    public Task<StoredFile?> GetAsync(string id, CancellationToken ct = default) => RunAsync(async c =>
    {
        await using var connection = await OpenAsync(c).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, key_id, purpose, filename, bytes, created_ms FROM router_files WHERE id = @id";
        Add(command, "@id", id);
        await using var reader = await command.ExecuteReaderAsync(c).ConfigureAwait(false);
        if (!await reader.ReadAsync(c).ConfigureAwait(false)) return null;
        return new StoredFile(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
            reader.GetInt64(4), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)));
    }, ct);

    public Task<byte[]?> ReadContentAsync(string id, CancellationToken ct = default) => RunAsync(async c =>
    {
        await using var connection = await OpenAsync(c).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT content FROM router_files WHERE id = @id";
        Add(command, "@id", id);
        await using var reader = await command.ExecuteReaderAsync(c).ConfigureAwait(false);
        if (!await reader.ReadAsync(c).ConfigureAwait(false)) return null;
        return reader.IsDBNull(0) ? [] : reader.GetFieldValue<byte[]>(0);
    }, ct);

    public Task AddBatchAsync(string batchId, string keyId, DateTimeOffset createdAt, CancellationToken ct = default) => RunAsync(async c =>
    {
        await using var connection = await OpenAsync(c).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO router_batches (id, key_id, created_ms) VALUES (@id, @key, @created)
            ON CONFLICT (id) DO NOTHING
            """;
        Add(command, "@id", batchId);
        Add(command, "@key", keyId);
        Add(command, "@created", createdAt.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(c).ConfigureAwait(false);
        return true;
    }, ct);

    public Task<IReadOnlyList<string>> ListBatchesAsync(string keyId, string? after, int limit, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<string>>(async c =>
        {
            await using var connection = await OpenAsync(c).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            // Newest first; the cursor is the last id of the previous page (ties on the millisecond broken by id).
            command.CommandText = after is null
                ? "SELECT id FROM router_batches WHERE key_id = @key ORDER BY created_ms DESC, id DESC LIMIT @limit"
                : """
                  SELECT b.id FROM router_batches b, router_batches a
                  WHERE b.key_id = @key AND a.id = @after AND a.key_id = @key
                    AND (b.created_ms < a.created_ms OR (b.created_ms = a.created_ms AND b.id < a.id))
                  ORDER BY b.created_ms DESC, b.id DESC LIMIT @limit
                  """;
            Add(command, "@key", keyId);
            Add(command, "@limit", limit);
            if (after is not null) Add(command, "@after", after);
            var ids = new List<string>();
            await using var reader = await command.ExecuteReaderAsync(c).ConfigureAwait(false);
            while (await reader.ReadAsync(c).ConfigureAwait(false)) ids.Add(reader.GetString(0));
            return ids;
        }, ct);

    private async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken ct)
    {
        if (_dialect == Dialect.Sqlite) return await Task.Run(async () => await WithSchema(work, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
        return await WithSchema(work, ct).ConfigureAwait(false);
    }

    private async Task<T> WithSchema<T>(Func<CancellationToken, Task<T>> work, CancellationToken ct)
    {
        if (!_schemaReady) await EnsureSchemaAsync(ct).ConfigureAwait(false);
        return await work(ct).ConfigureAwait(false);
    }

    private async Task EnsureSchemaAsync(CancellationToken ct)
    {
        await _schemaGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_schemaReady) return;
            await using var connection = await OpenAsync(ct).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            var blob = _dialect == Dialect.Postgres ? "bytea" : "BLOB";
            // PostgreSQL nodes start together: take turns under an advisory lock (CREATE … IF NOT EXISTS can race).
            var lockSql = _dialect == Dialect.Postgres ? "SELECT pg_advisory_xact_lock(hashtext('router.router_files'));" : "";
            command.CommandText = $"""
                {lockSql}
                CREATE TABLE IF NOT EXISTS router_files (
                    id         TEXT   NOT NULL PRIMARY KEY,
                    key_id     TEXT   NOT NULL,
                    purpose    TEXT   NOT NULL,
                    filename   TEXT   NOT NULL,
                    bytes      BIGINT NOT NULL,
                    created_ms BIGINT NOT NULL,
                    content    {blob} NOT NULL
                );
                CREATE TABLE IF NOT EXISTS router_batches (
                    id         TEXT   NOT NULL PRIMARY KEY,
                    key_id     TEXT   NOT NULL,
                    created_ms BIGINT NOT NULL
                );
                CREATE INDEX IF NOT EXISTS ix_router_batches_key ON router_batches (key_id, created_ms);
                """;
            if (_dialect == Dialect.Postgres)
            {
                await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                command.Transaction = tx;
                await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
            }
            else
            {
                await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            _schemaReady = true;
        }
        finally
        {
            _schemaGate.Release();
        }
    }

    private async ValueTask<DbConnection> OpenAsync(CancellationToken ct)
    {
        if (_postgres is not null) return await _postgres.OpenConnectionAsync(ct).ConfigureAwait(false);
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(ct).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        command.Parameters.Add(p);
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null) await _postgres.DisposeAsync().ConfigureAwait(false);
        _schemaGate.Dispose();
    }
}
