using Router.Actors.RateLimiting;

namespace Router.Actors.Upstreams;

/// <summary>
/// The keys of one provider on one node, so that one throttled or revoked key never fails a request while
/// another key could serve it. Picks the least-loaded healthy key, keeps each key within its own RPM/TPM
/// limits, rests a key after a 429 and disables it after 401/403. Holds key ids only, never secrets.
/// </summary>
/// <remarks>
/// <para>Time is TimeSpan ticks from any fixed origin (monotonic), passed in by the caller, never decreasing.</para>
/// <para>Each key's RPM and TPM are <see cref="TokenBucket"/>s (limit per minute, refilled continuously) that start full. They are
/// local to this pool: with several nodes, give each node its share of the provider's limit; the provider's 429
/// remains the authority and cools the key everywhere through <see cref="ApplyRemote(string, TimeSpan?, bool, long)"/>.</para>
/// <para>Cooldown after a 429: the provider's retry-after as given (even beyond the cap: it knows its quota);
/// without one, <see cref="KeyCooldownSettings.DefaultCooldown"/> doubled per consecutive 429 since the key's
/// last success, capped at <see cref="KeyCooldownSettings.MaxCooldown"/>. A new 429 never shortens a running
/// cooldown.</para>
/// Thread-safe: many requests pick keys at once; one short lock guards all state.
/// </remarks>
public sealed class ProviderKeyPool
{
    private readonly object _gate = new();
    private readonly PooledKey[] _keys;
    private readonly Dictionary<string, PooledKey> _byId;
    private readonly KeyCooldownSettings _cooldown;

    public ProviderKeyPool(string provider, IEnumerable<ProviderKeySpec> keys, KeyCooldownSettings? cooldown = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        ArgumentNullException.ThrowIfNull(keys);
        Provider = provider;
        _cooldown = cooldown ?? KeyCooldownSettings.Default;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_cooldown.DefaultCooldown, TimeSpan.Zero, nameof(cooldown));
        ArgumentOutOfRangeException.ThrowIfLessThan(_cooldown.MaxCooldown, _cooldown.DefaultCooldown, nameof(cooldown));

        _keys = keys.Select(k => new PooledKey(k)).ToArray();
        _byId = new Dictionary<string, PooledKey>(StringComparer.Ordinal);
        foreach (var key in _keys)
        {
            if (!_byId.TryAdd(key.Id, key))
            {
                throw new ArgumentException($"Provider '{provider}' lists key id '{key.Id}' twice.", nameof(keys));
            }
        }
    }

    public string Provider { get; }

    public IReadOnlyList<string> KeyIds => _keys.Select(k => k.Id).ToArray();

    /// <inheritdoc cref="TryAcquire(long, int, IReadOnlySet{string}?, out long?)"/>
    public ProviderKeyLease? TryAcquire(long nowTicks, int estimatedTokens, IReadOnlySet<string>? exclude = null) =>
        TryAcquire(nowTicks, estimatedTokens, exclude, out _);

    /// <summary>
    /// Leases the healthy key with the fewest requests in flight, then the most RPM left (no limit counts as
    /// most), then the first configured. A healthy key is enabled, not cooling down, not in
    /// <paramref name="exclude"/> (keys this request already tried) and has one request and
    /// <paramref name="estimatedTokens"/> left in its buckets (a request larger than a key's whole TPM needs a
    /// full bucket, so it still goes through eventually).
    /// </summary>
    /// <param name="retryAtTicks">When no key is healthy: the earliest time a non-excluded, enabled key can be,
    /// or null if none ever will (all disabled or excluded). Null on success.</param>
    public ProviderKeyLease? TryAcquire(long nowTicks, int estimatedTokens, IReadOnlySet<string>? exclude, out long? retryAtTicks)
    {
        var tokens = Math.Max(0, estimatedTokens);
        retryAtTicks = null;
        lock (_gate)
        {
            PooledKey? best = null;
            foreach (var key in _keys)
            {
                if (key.Disabled || (exclude is not null && exclude.Contains(key.Id)))
                {
                    continue;
                }

                var readyAt = key.ReadyAt(nowTicks, tokens);
                if (readyAt > nowTicks)
                {
                    retryAtTicks = retryAtTicks is { } r ? Math.Min(r, readyAt) : readyAt;
                    continue;
                }

                if (best is null || key.IsLessLoadedThan(best, nowTicks))
                {
                    best = key;
                }
            }

            if (best is null)
            {
                return null;
            }

            retryAtTicks = null;
            var charged = best.Take(nowTicks, tokens);
            return new ProviderKeyLease(Provider, best.Id, charged, nowTicks);
        }
    }

    /// <summary>
    /// Returns a lease. With <paramref name="actualTokens"/> the TPM bucket is corrected to what the request
    /// really used (refunding an over-estimate, charging an under-estimate). Releasing twice does nothing.
    /// </summary>
    public void Release(ProviderKeyLease lease, long nowTicks, int? actualTokens = null)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (!string.Equals(lease.Provider, Provider, StringComparison.Ordinal) || !lease.MarkReleased())
        {
            return;
        }

        lock (_gate)
        {
            if (_byId.TryGetValue(lease.KeyId, out var key))
            {
                key.Return(nowTicks, lease.ChargedTokens, actualTokens);
            }
        }
    }

    /// <summary>The provider answered 429 for this key: rest it.</summary>
    /// <returns>The key's new status when its cooldown was extended (to publish), otherwise null.</returns>
    public ProviderKeyStatus? ReportRateLimited(string keyId, long nowTicks, TimeSpan? retryAfter)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(keyId, out var key))
            {
                return null;
            }

            key.ConsecutiveRateLimits++;
            var rest = retryAfter is { } given && given >= TimeSpan.Zero ? given : DefaultCooldown(key.ConsecutiveRateLimits);
            var until = nowTicks + rest.Ticks;
            if (key.CooldownUntil is { } current && current >= until)
            {
                return null;
            }

            key.CooldownUntil = until;
            return StatusOf(key);
        }
    }

    /// <summary>The provider answered 401/403 for this key: stop using it until re-enabled.</summary>
    /// <returns>The key's new status when it was enabled until now (to publish), otherwise null.</returns>
    public ProviderKeyStatus? ReportAuthFailure(string keyId)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(keyId, out var key) || key.Disabled)
            {
                return null;
            }

            key.Disabled = true;
            return StatusOf(key);
        }
    }

    /// <summary>The key served a request: the next 429 starts the default cooldown from the beginning again.</summary>
    public void ReportSuccess(string keyId)
    {
        lock (_gate)
        {
            if (_byId.TryGetValue(keyId, out var key))
            {
                key.ConsecutiveRateLimits = 0;
            }
        }
    }

    /// <summary>
    /// Applies a key's status published by another node (or by the key's owner). The disabled flag is taken as
    /// given, so an operator's re-enable reaches every node; a cooldown only ever lengthens the local one.
    /// </summary>
    /// <param name="cooldownRemaining">Time left in the remote cooldown, measured when it was sent.</param>
    /// <returns>True when anything changed.</returns>
    public bool ApplyRemote(string keyId, TimeSpan? cooldownRemaining, bool disabled, long nowTicks)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(keyId, out var key))
            {
                return false;
            }

            var changed = key.Disabled != disabled;
            key.Disabled = disabled;
            if (cooldownRemaining is { } remaining && remaining > TimeSpan.Zero)
            {
                var until = nowTicks + remaining.Ticks;
                if (key.CooldownUntil is not { } current || current < until)
                {
                    key.CooldownUntil = until;
                    changed = true;
                }
            }

            return changed;
        }
    }

    /// <summary>As the other overload, for a status carrying a wall-clock cooldown end (converted with this node's wall clock).</summary>
    public bool ApplyRemote(string keyId, DateTimeOffset? cooldownUntil, bool disabled, DateTimeOffset wallNow, long nowTicks) =>
        ApplyRemote(keyId, cooldownUntil is { } until ? until - wallNow : null, disabled, nowTicks);

    /// <summary>Every key's status, in configuration order, for display; cooldowns already over read as null.</summary>
    public IReadOnlyList<ProviderKeyStatus> Snapshot(long nowTicks)
    {
        lock (_gate)
        {
            return _keys.Select(k => StatusOf(k) with { CooldownUntilTicks = k.CooldownUntil > nowTicks ? k.CooldownUntil : null })
                .ToArray();
        }
    }

    /// <summary>Requests in flight on one key (for metrics and tests).</summary>
    public int InFlight(string keyId)
    {
        lock (_gate)
        {
            return _byId.TryGetValue(keyId, out var key) ? key.InFlight : 0;
        }
    }

    private ProviderKeyStatus StatusOf(PooledKey key) => new(Provider, key.Id, key.CooldownUntil, key.Disabled);

    private TimeSpan DefaultCooldown(int consecutive)
    {
        // 2^(n-1) doublings; past 30 the cap has long been reached and the shift would overflow.
        var factor = consecutive >= 31 ? double.MaxValue : Math.Pow(2, consecutive - 1);
        var ticks = Math.Min(_cooldown.MaxCooldown.Ticks, _cooldown.DefaultCooldown.Ticks * factor);
        return TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>One key's local state. Its RPM/TPM buckets start full at the first time the pool is asked about the key.</summary>
    private sealed class PooledKey(ProviderKeySpec spec)
    {
        private TokenBucket? _rpm;
        private TokenBucket? _tpm;
        private bool _started;

        public string Id { get; } = spec.Id;
        public int InFlight { get; private set; }
        public long? CooldownUntil { get; set; }
        public bool Disabled { get; set; }
        public int ConsecutiveRateLimits { get; set; }

        /// <summary>The earliest time this key can take the request (≤ now: it can take it now).</summary>
        public long ReadyAt(long nowTicks, int tokens)
        {
            Start(nowTicks);
            var ready = CooldownUntil is { } until && until > nowTicks ? until : nowTicks;
            if (_rpm is not null)
            {
                ready = Math.Max(ready, nowTicks + _rpm.TimeUntilAvailable(nowTicks, 1).Ticks);
            }

            if (_tpm is not null)
            {
                ready = Math.Max(ready, nowTicks + _tpm.TimeUntilAvailable(nowTicks, Math.Min(tokens, _tpm.Capacity)).Ticks);
            }

            return ready;
        }

        /// <summary>Fewer requests in flight, then more RPM left (fractions of a request count; no limit is the most).</summary>
        public bool IsLessLoadedThan(PooledKey other, long nowTicks)
        {
            if (InFlight != other.InFlight)
            {
                return InFlight < other.InFlight;
            }

            Start(nowTicks);
            other.Start(nowTicks);
            return (_rpm, other._rpm) switch
            {
                (null, _) => other._rpm is not null,
                (_, null) => false,
                var (mine, theirs) => TokenBucket.CompareLevels(mine, theirs, nowTicks) > 0,
            };
        }

        public int Take(long nowTicks, int tokens)
        {
            Start(nowTicks);
            InFlight++;
            _rpm?.Charge(nowTicks, 1);
            var charged = _tpm is null ? tokens : (int)Math.Min(tokens, _tpm.Capacity);
            _tpm?.Charge(nowTicks, charged);
            return charged;
        }

        /// <summary>
        /// Frees the slot and corrects the TPM bucket to the request's real usage: an over-estimate is refunded (never
        /// above the limit), an under-estimate charged, leaving at most one minute's worth of debt.
        /// </summary>
        public void Return(long nowTicks, int charged, int? actualTokens)
        {
            InFlight = Math.Max(0, InFlight - 1);
            if (_tpm is null || actualTokens is not { } actual)
            {
                return;
            }

            var extra = Math.Max(0, actual) - charged;
            if (extra > 0)
            {
                _tpm.Charge(nowTicks, extra, maxDebt: _tpm.Capacity);
            }
            else if (extra < 0)
            {
                _tpm.Refund(nowTicks, -extra);
            }
        }

        private void Start(long nowTicks)
        {
            if (_started)
            {
                return;
            }

            _started = true;
            _rpm = spec.Rpm is int rpm && rpm > 0 ? new TokenBucket(rpm, TimeSpan.FromMinutes(1), nowTicks) : null;
            _tpm = spec.Tpm is int tpm && tpm > 0 ? new TokenBucket(tpm, TimeSpan.FromMinutes(1), nowTicks) : null;
        }
    }
}
