namespace Router.Contracts.Serialization;

/// <summary>
/// Marks every message that crosses nodes and every persisted event or snapshot, binding it to
/// <see cref="RouterSerializer"/> instead of Akka's default reflection serializer, whose payloads carry CLR
/// type names (a rename breaks recovery). A type implementing it must have a line in
/// <see cref="RouterManifests"/>; a test enforces this.
/// </summary>
public interface IRouterMessage;
