using System.Text.Json;
using Router.Node.Upstreams.Simulated;

namespace Router.Node.Tests.Upstreams;

public sealed class SchemaSampleTests
{
    [Fact]
    public void Fills_every_required_property_with_a_value_of_its_type()
    {
        var json = SchemaSample.Json("""
            {"type":"object","properties":{
               "city":{"type":"string"},"days":{"type":"integer"},"metric":{"type":"boolean"},"ratio":{"type":"number"},
               "unit":{"type":"string","enum":["celsius","fahrenheit"]},"tags":{"type":"array","items":{"type":"string"},"minItems":2},
               "where":{"type":"object","properties":{"lat":{"type":"number"}},"required":["lat"]},"optional":{"type":"string"}},
             "required":["city","days","metric","ratio","unit","tags","where"]}
            """);

        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal("example", root.GetProperty("city").GetString());
        Assert.Equal(1, root.GetProperty("days").GetInt32());
        Assert.True(root.GetProperty("metric").GetBoolean());
        Assert.Equal(1.5, root.GetProperty("ratio").GetDouble());
        Assert.Equal("celsius", root.GetProperty("unit").GetString());
        Assert.Equal(2, root.GetProperty("tags").GetArrayLength());
        Assert.Equal(1.5, root.GetProperty("where").GetProperty("lat").GetDouble());
        Assert.False(root.TryGetProperty("optional", out _));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"type":"object"}""")]
    public void Anything_without_required_properties_gives_an_empty_object(string schema) =>
        Assert.Equal("{}", SchemaSample.Json(schema));
}
