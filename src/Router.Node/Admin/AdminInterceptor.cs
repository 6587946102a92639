using System.Security.Cryptography;
using System.Text;
using AskTimeoutException = Akka.Actor.AskTimeoutException;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Router.Node.Admin;

/// <summary>
/// The admin key as the gRPC admin service checks it: only its SHA-256 is kept, so the plaintext sits in no
/// object that could be logged, and comparing two fixed-length digests takes the same time whatever was presented.
/// </summary>
public sealed class AdminCredentials
{
    private readonly byte[]? _hash;

    public AdminCredentials(string? adminKey) =>
        _hash = string.IsNullOrEmpty(adminKey) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(adminKey));

    /// <summary>False when the node has no admin key: the admin service then refuses everyone.</summary>
    public bool Configured => _hash is not null;

    public bool Matches(string? presented) =>
        _hash is not null && presented is not null
        && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), _hash);

    public override string ToString() => Configured ? "AdminCredentials(configured)" : "AdminCredentials(none)";
}

/// <summary>
/// Guards <c>router.v1.Admin</c>: <c>authorization: Bearer {admin key}</c> or UNAUTHENTICATED (PERMISSION_DENIED when
/// the node has no admin key), then turns the admin layer's refusals into gRPC status codes so that
/// <c>routerctl</c> can tell "refused" from "bad usage" from "cannot reach".
/// </summary>
public sealed class AdminInterceptor(AdminCredentials credentials) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (!credentials.Configured)
            throw new RpcException(new Status(StatusCode.PermissionDenied, "the admin API is disabled on this node: set Router:AdminKey"));
        if (!credentials.Matches(PresentedKey(context)))
            throw new RpcException(new Status(StatusCode.Unauthenticated, "missing or wrong admin key"));
        try
        {
            return await continuation(request, context);
        }
        catch (AdminException ex)
        {
            throw new RpcException(new Status(ToStatusCode(ex.Status), ex.Message));
        }
        catch (AskTimeoutException)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the cluster did not answer in time; retry"));
        }
    }

    public static StatusCode ToStatusCode(int httpStatus) => httpStatus switch
    {
        400 => StatusCode.InvalidArgument,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.NotFound,
        409 => StatusCode.FailedPrecondition,
        503 => StatusCode.Unavailable,
        _ => StatusCode.Internal,
    };

    private static string? PresentedKey(ServerCallContext context)
    {
        var auth = context.RequestHeaders.GetValue("authorization");
        return auth is not null && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth[7..].Trim() : null;
    }
}
