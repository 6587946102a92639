using System.Text.Json;
using Router.Contracts.RateLimiting;

namespace Router.Contracts.Tests.RateLimiting;

public sealed class ApiKeyIdTests
{
    [Fact]
    public void Prints_as_its_bare_value_so_logs_show_the_id_only()
    {
        Assert.Equal("0123456789abcdef", new ApiKeyId("0123456789abcdef").ToString());
        Assert.Equal("key 0123456789abcdef", $"key {new ApiKeyId("0123456789abcdef")}");
    }

    [Fact]
    public void Is_written_to_json_as_a_bare_string_and_read_back()
    {
        var json = JsonSerializer.Serialize(new { keyId = new ApiKeyId("0123456789abcdef") });

        Assert.Equal("""{"keyId":"0123456789abcdef"}""", json);
        Assert.Equal(new ApiKeyId("0123456789abcdef"), JsonSerializer.Deserialize<ApiKeyId>("\"0123456789abcdef\""));
    }

    [Fact]
    public void Two_spellings_of_one_key_are_the_same_id_and_two_keys_are_not()
    {
        var a = ApiKeyHash.IdOf("sk-router-demo");

        Assert.Equal(a, ApiKeyId.FromKeyHash(ApiKeyHash.Compute("sk-router-demo").ToUpperInvariant()));
        Assert.NotEqual(a, ApiKeyHash.IdOf("sk-router-demo "));
        Assert.Equal(ApiKeyId.Length, a.Value.Length);
        Assert.Equal(ApiKeyHash.Compute("sk-router-demo")[..16], a.Value);
    }

    [Fact]
    public void Hashes_the_utf8_bytes_of_the_key()
    {
        // SHA-256 of the UTF-8 bytes of "é" (c3 a9), not of its UTF-16 code unit.
        Assert.Equal("4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c", ApiKeyHash.Compute("é"));
    }
}
