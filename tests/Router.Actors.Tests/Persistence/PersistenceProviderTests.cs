using Router.Actors.Persistence;

namespace Router.Actors.Tests.Persistence;

public sealed class PersistenceProviderTests
{
    [Theory]
    [InlineData("sqlite", PersistenceProvider.Sqlite)]
    [InlineData("SQLite", PersistenceProvider.Sqlite)]
    [InlineData(" sqlite ", PersistenceProvider.Sqlite)]
    [InlineData("postgresql", PersistenceProvider.PostgreSql)]
    [InlineData("PostgreSQL", PersistenceProvider.PostgreSql)]
    [InlineData("postgres", PersistenceProvider.PostgreSql)]
    public void Reads_the_documented_names_whatever_their_case(string name, PersistenceProvider expected)
    {
        Assert.Equal(expected, PersistenceProviders.Parse(name));
        Assert.True(PersistenceProviders.TryParse(name, out var parsed));
        Assert.Equal(expected, parsed);
    }

    [Theory]
    [InlineData("mysql")]
    [InlineData("sqlserver")]
    [InlineData("")]
    [InlineData(null)]
    public void An_unknown_name_is_refused_with_the_accepted_names(string? name)
    {
        var error = Assert.Throws<ArgumentException>(() => PersistenceProviders.Parse(name));

        Assert.Equal($"Unknown persistence provider '{name}': expected 'sqlite' or 'postgresql'. (Parameter 'name')", error.Message);
        Assert.False(PersistenceProviders.TryParse(name, out _));
    }
}
