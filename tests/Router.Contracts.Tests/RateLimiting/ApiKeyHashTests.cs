using Router.Contracts.RateLimiting;

namespace Router.Contracts.Tests.RateLimiting;

public sealed class ApiKeyHashTests
{
    [Fact]
    public void Key_id_is_the_first_16_hex_chars_of_the_sha256()
    {
        // SHA-256("abc"), the FIPS 180-2 test vector.
        const string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

        Assert.Equal(abc, ApiKeyHash.Compute("abc"));
        Assert.Equal(new ApiKeyId("ba7816bf8f01cfea"), ApiKeyHash.IdOf("abc"));
        Assert.Equal(new ApiKeyId("ba7816bf8f01cfea"), ApiKeyId.FromKeyHash(abc.ToUpperInvariant()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("ba7816bf8f01cfea")]
    [InlineData("zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    public void Rejects_anything_but_a_sha256_hex(string hash)
    {
        Assert.False(ApiKeyHash.IsValid(hash));
        Assert.Throws<ArgumentException>(() => ApiKeyId.FromKeyHash(hash));
    }

    [Fact]
    public void Upsert_and_its_event_do_not_print_the_key_hash()
    {
        var hash = ApiKeyHash.Compute("sk-secret");
        var id = ApiKeyId.FromKeyHash(hash);
        var upsert = new ApiKeyCommands.Upsert(id, "demo", hash, 1, 2, 3, 4m, BudgetPeriod.Day, ["*"], KeySource.Admin);
        var upserted = new ApiKeyEvents.KeyUpserted(id, "demo", hash, 1, 2, 3, 4m, BudgetPeriod.Day, ["*"], KeySource.Admin, DateTimeOffset.UnixEpoch);

        Assert.DoesNotContain(hash, upsert.ToString());
        Assert.DoesNotContain(hash, upserted.ToString());
        Assert.Contains("demo", upsert.ToString());
    }
}
