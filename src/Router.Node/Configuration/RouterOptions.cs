namespace Router.Node.Configuration;

/// <summary>The <c>Router</c> configuration section. Every field is documented in README.md.</summary>
public sealed class RouterOptions
{
    public const string Section = "Router";

    public HttpOptions Http { get; set; } = new();
    public GrpcOptions Grpc { get; set; } = new();
    /// <summary>Key for the admin API and routerctl; <c>env:NAME</c> reads it from the environment.</summary>
    public string? AdminKey { get; set; }
    public PersistenceOptions Persistence { get; set; } = new();
    public ClusterOptions Cluster { get; set; } = new();
    public List<ProviderOptions> Providers { get; set; } = [];
    public List<ModelOptions> Models { get; set; } = [];
    public List<KeyOptions> Keys { get; set; } = [];
    public BreakerOptions Breaker { get; set; } = new();
    public RetryOptions Retry { get; set; } = new();
    public LimitsOptions Limits { get; set; } = new();
    public ShutdownOptions Shutdown { get; set; } = new();
    public IngressOptions Ingress { get; set; } = new();
    public BatchesOptions Batches { get; set; } = new();
    public MetricsOptions Metrics { get; set; } = new();
    public Observability.TracingOptions Tracing { get; set; } = new();
    public Observability.LoggingOptions Logging { get; set; } = new();
}

/// <summary><c>Router:Metrics</c>: the Prometheus endpoint and what it may label.</summary>
public sealed class MetricsOptions
{
    /// <summary>Serve <c>GET /metrics</c> on the HTTP port.</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>Also label request and token series by the key's configured name (never the key itself).</summary>
    public bool PerKey { get; set; }
}

public sealed class IngressOptions
{
    /// <summary>Requests that may wait for a free slot on this node; beyond it requests get 503 at once.</summary>
    public int QueueSize { get; set; } = 1024;
    /// <summary>Requests in progress at once on this node (streams included).</summary>
    public int Parallelism { get; set; } = 512;
}

/// <summary>Batch work (gRPC <c>Batch</c> and HTTP batch jobs); see docs/batches.md and docs/backpressure.md.</summary>
public sealed class BatchesOptions
{
    /// <summary>gRPC Batch: requests of one call in flight at once; the server reads no further until one finishes.</summary>
    public int GrpcWindow { get; set; } = 64;
    /// <summary>HTTP batch jobs: items of one job in flight at once.</summary>
    public int Parallelism { get; set; } = 4;
    /// <summary>HTTP batch jobs: items of all jobs in flight at once on this node.</summary>
    public int NodeParallelism { get; set; } = 16;
    /// <summary>Most request lines in one batch input file.</summary>
    public int MaxItems { get; set; } = 50_000;
    /// <summary>Largest uploaded file.</summary>
    public long MaxFileBytes { get; set; } = 100L * 1024 * 1024;
    /// <summary>How often each node wakes unfinished batch jobs that nobody is running (after a crash or hand-off).</summary>
    public int ResumeSweepSeconds { get; set; } = 60;
}

public sealed class HttpOptions
{
    public int Port { get; set; } = 8080;
    /// <summary>Address to bind; <c>0.0.0.0</c> in containers.</summary>
    public string Host { get; set; } = "127.0.0.1";
    /// <summary>Largest accepted request body; larger ones get 413.</summary>
    public long MaxBodyBytes { get; set; } = 4 * 1024 * 1024;
}

public sealed class GrpcOptions
{
    public int Port { get; set; } = 8081;
    public string Host { get; set; } = "127.0.0.1";
}

public sealed class PersistenceOptions
{
    /// <summary><c>sqlite</c> (default) or <c>postgresql</c>; read by <see cref="Router.Actors.Persistence.PersistenceProviders.Parse"/>.</summary>
    public string Provider { get; set; } = "sqlite";
    public string ConnectionString { get; set; } = "Data Source=router.db";
}

public sealed class ClusterOptions
{
    public string Hostname { get; set; } = "127.0.0.1";
    public int Port { get; set; } = 4053;
    /// <summary>Address other nodes use to reach this one (defaults to Hostname).</summary>
    public string? PublicHostname { get; set; }
    /// <summary>Seed node addresses; empty means this node joins itself (single node).</summary>
    public List<string> Seeds { get; set; } = [];
    public List<string> Roles { get; set; } = [];
    /// <summary>Split-brain resolver <c>stable-after</c>, seconds.</summary>
    public int StableAfterSeconds { get; set; } = 4;
    /// <summary>Failure detector <c>acceptable-heartbeat-pause</c>, seconds: silence tolerated before a member is unreachable.</summary>
    public double HeartbeatPauseSeconds { get; set; } = 2;
    /// <summary>Failure detector phi <c>threshold</c>: higher suspects later and wrongly less often.</summary>
    public double FailureDetectorThreshold { get; set; } = 8;
    /// <summary><c>down-removal-margin</c>, seconds: wait after a member is removed before its shards start elsewhere.</summary>
    public double DownRemovalMarginSeconds { get; set; } = 2;
    /// <summary>How the node finds the cluster: <c>seeds</c> (default: <see cref="Seeds"/>, or itself) or <c>kubernetes</c> (cluster bootstrap).</summary>
    public string Discovery { get; set; } = "seeds";
    /// <summary>Cluster bootstrap settings, used when <see cref="Discovery"/> is <c>kubernetes</c>.</summary>
    public BootstrapOptions Bootstrap { get; set; } = new();
}

public sealed class ProviderOptions
{
    public string Name { get; set; } = "";
    /// <summary><c>openai</c>, <c>anthropic</c> or <c>simulated</c>.</summary>
    public string Kind { get; set; } = "";
    public string? BaseUrl { get; set; }
    public List<ProviderKeyOptions> Keys { get; set; } = [];
    /// <summary>TCP connect timeout for the provider's pooled connections.</summary>
    public int ConnectTimeoutMs { get; set; } = 5000;
    /// <summary>Most open connections per upstream server.</summary>
    public int MaxConnections { get; set; } = 512;

    // simulated only
    public int LatencyMs { get; set; } = 20;
    public double TokensPerSecond { get; set; } = 200;
    /// <summary>Share of calls (0..1) that fail with 500, for demos and tests.</summary>
    public double FailureRate { get; set; }
    /// <summary>Tokens in each simulated answer.</summary>
    public int CompletionTokens { get; set; } = 24;
}

public sealed class ProviderKeyOptions
{
    public string Id { get; set; } = "";
    /// <summary><c>env:NAME</c>, <c>file:/path</c> or a literal (tests and demo only).</summary>
    public string Secret { get; set; } = "";
    public int? Rpm { get; set; }
    public int? Tpm { get; set; }
}

public sealed class ModelOptions
{
    public string Id { get; set; } = "";
    public List<string> Aliases { get; set; } = [];
    public int ContextWindow { get; set; } = 128_000;
    public List<DeploymentOptions> Deployments { get; set; } = [];
    public List<string> Fallbacks { get; set; } = [];
    /// <summary>Tier for the <c>auto</c> model: <c>simple</c>, <c>standard</c> or <c>complex</c>.</summary>
    public string? Tier { get; set; }
    /// <summary><c>chat</c> (default: chat completions, Responses, completions, messages) or <c>embeddings</c>.</summary>
    public string Kind { get; set; } = "chat";
}

public sealed class DeploymentOptions
{
    /// <summary>Stable id; defaults to <c>{model}/{provider}</c>.</summary>
    public string? Id { get; set; }
    public string Provider { get; set; } = "";
    public string Model { get; set; } = "";
    public decimal InputPerMTok { get; set; }
    public decimal OutputPerMTok { get; set; }
    /// <summary>Price of prompt-cache reads (OpenAI cached tokens, Anthropic cache_read_input_tokens); defaults to InputPerMTok.</summary>
    public decimal? CachedInputPerMTok { get; set; }
    /// <summary>Price of prompt-cache writes (Anthropic cache_creation_input_tokens); defaults to InputPerMTok.</summary>
    public decimal? CacheWriteInputPerMTok { get; set; }
    /// <summary>Overrides the model's context window for this deployment.</summary>
    public int? ContextWindow { get; set; }
    public int? MaxConcurrent { get; set; }
}

public sealed class KeyOptions
{
    public string Name { get; set; } = "";
    /// <summary>The virtual key itself (<c>env:NAME</c> or literal); stored and compared only as SHA-256.</summary>
    public string Key { get; set; } = "";
    public int? Rpm { get; set; }
    public int? Tpm { get; set; }
    public int? MaxConcurrent { get; set; }
    public decimal? BudgetUsd { get; set; }
    /// <summary><c>day</c>, <c>month</c> or <c>total</c>.</summary>
    public string BudgetPeriod { get; set; } = "month";
    /// <summary>Models (ids, aliases or <c>prefix*</c>) this key may use; <c>*</c> or none listed for all.</summary>
    // No default element: the configuration binder appends to a list, it does not replace it.
    public List<string> Models { get; set; } = [];
}

public sealed class BreakerOptions
{
    public int FailureThreshold { get; set; } = 5;
    public int OpenSeconds { get; set; } = 30;
    public int HalfOpenProbes { get; set; } = 2;
}

public sealed class RetryOptions
{
    public int MaxAttempts { get; set; } = 3;
    public int BaseDelayMs { get; set; } = 200;
    public int MaxDelayMs { get; set; } = 5000;
    public int AttemptTimeoutMs { get; set; } = 60_000;
    /// <summary>Overall deadline for all attempts of one request.</summary>
    public int DeadlineMs { get; set; } = 120_000;
}

public sealed class LimitsOptions
{
    /// <summary>Completion tokens assumed at admission when a request sets no max_tokens.</summary>
    public int DefaultMaxTokens { get; set; } = 1024;
}

public sealed class ShutdownOptions
{
    public int DrainSeconds { get; set; } = 20;
}
