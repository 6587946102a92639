using FsCheck;
using FsCheck.Fluent;
using Router.Contracts.Chat;

namespace Router.Node.Tests.Wire.Properties;

/// <summary>A generated value that prints readably when FsCheck reports it as a counterexample.</summary>
public sealed class Sample<T>(T value, Func<T, string> show)
{
    public T Value { get; } = value;

    public override string ToString() => show(Value);
}

internal static class Samples
{
    public static Arbitrary<Sample<ChatRequest>> Requests(WireProfile profile) =>
        Arb.From(CanonicalGen.Request(profile).Select(r => new Sample<ChatRequest>(r, CanonicalDiff.Show)));

    public static Arbitrary<Sample<T>> Of<T>(Gen<T> gen, Func<T, string> show) =>
        Arb.From(gen.Select(v => new Sample<T>(v, show)));
}
