namespace Router.Node.Ingress;

/// <summary>Request-body limits shared by the HTTP endpoints (<c>Router:Http:MaxBodyBytes</c>).</summary>
public sealed record BodyLimits(long MaxBodyBytes);
