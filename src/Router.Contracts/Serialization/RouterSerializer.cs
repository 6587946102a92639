using System.Collections.Frozen;
using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace Router.Contracts.Serialization;

/// <summary>
/// Serializes every <see cref="IRouterMessage"/> as System.Text.Json with a short manifest from
/// <see cref="RouterManifests"/>: explicit, version-tolerant (fields can be added), and free of CLR type names,
/// so cross-node messages and stored events survive refactoring. Bind it with <see cref="Hocon"/>.
/// </summary>
public sealed class RouterSerializer : SerializerWithStringManifest
{
    /// <summary>Fixed forever: it is stored beside every event and snapshot. Akka reserves 0–100.</summary>
    public const int SerializerId = 1701;

    /// <summary>Registers this serializer and binds <see cref="IRouterMessage"/> to it.</summary>
    public const string Hocon = """
        akka.actor {
          serializers {
            router = "Router.Contracts.Serialization.RouterSerializer, Router.Contracts"
          }
          serialization-bindings {
            "Router.Contracts.Serialization.IRouterMessage, Router.Contracts" = router
          }
        }
        """;

    private static readonly FrozenDictionary<string, Type> TypesByManifest;
    private static readonly FrozenDictionary<Type, string> ManifestsByType;

    internal static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        // Names, not numbers: reordering an enum must not change stored meaning.
        Converters = { new JsonStringEnumConverter() },
    };

    static RouterSerializer()
    {
        // Fail at start-up, not at the first message, when the table has a duplicate.
        TypesByManifest = RouterManifests.All.ToFrozenDictionary(e => e.Manifest, e => e.Type, StringComparer.Ordinal);
        ManifestsByType = RouterManifests.All.ToFrozenDictionary(e => e.Type, e => e.Manifest);
    }

    public RouterSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    public override int Identifier => SerializerId;

    public override string Manifest(object o) =>
        ManifestsByType.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new SerializationException(
                $"No manifest for {o.GetType().FullName}: add it to {nameof(RouterManifests)}.{nameof(RouterManifests.All)}");

    public override byte[] ToBinary(object obj)
    {
        _ = Manifest(obj); // refuse types without a manifest now rather than on the receiving side
        return JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), JsonOptions);
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!TypesByManifest.TryGetValue(manifest, out var type))
        {
            throw new SerializationException($"Unknown manifest '{manifest}' for {nameof(RouterSerializer)}");
        }

        try
        {
            return JsonSerializer.Deserialize(bytes, type, JsonOptions)
                ?? throw new SerializationException($"Null payload for manifest '{manifest}'");
        }
        catch (JsonException ex)
        {
            throw new SerializationException($"Malformed payload for manifest '{manifest}'", ex);
        }
    }
}
