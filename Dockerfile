# syntax=docker/dockerfile:1
# Router.Node image: build with the SDK, run on the ASP.NET runtime as a non-root user.
#   docker build -t router-node:dev .
# Ports: 8080 HTTP (OpenAI/Anthropic JSON, admin, /healthz), 8081 gRPC (h2c), 4053 Akka remoting.

# ---- project files only, so the restore layer is reused until a project or package pin changes
FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:10.0 AS projects
WORKDIR /src
COPY . .
# Keep only what `dotnet restore` reads; a source edit then leaves the restore layer cached.
RUN find . -type f ! -name '*.csproj' ! -name 'Directory.Build.props' ! -name 'Directory.Packages.props' \
        ! -name 'global.json' ! -name 'nuget.config' ! -name 'NuGet.config' -delete \
    && find . -type d -empty -delete

# ---- build (on the build host's architecture: the publish output is portable IL)
FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY --from=projects /src/ ./
RUN dotnet restore src/Router.Node/Router.Node.csproj
COPY . .
RUN dotnet publish src/Router.Node/Router.Node.csproj -c Release -o /app --no-restore -p:UseAppHost=false

# ---- runtime
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# UID/GID 10001 match securityContext.runAsUser/runAsGroup in k8s/base/statefulset.yaml.
RUN groupadd --system --gid 10001 router \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin router \
    && mkdir /data && chown 10001:10001 /data
WORKDIR /app
COPY --from=build --chown=root:root /app ./
# Kestrel endpoints come from Router:Http and Router:Grpc; the base image's
# ASPNETCORE_HTTP_PORTS=8080 would only add an "overriding address" warning.
# In a container, listening on 127.0.0.1 (the app's default) is never what anyone
# wants, so `docker run -p 8080:8080 router-node` works without a config file.
# The default SQLite file goes to /data (writable by UID 10001; mount a volume there
# to keep it); /app stays read-only. On Kubernetes the pod's own
# Router__Persistence__ConnectionString (PostgreSQL, from the Secret) replaces it.
ENV ASPNETCORE_HTTP_PORTS= \
    Router__Http__Host=0.0.0.0 \
    Router__Grpc__Host=0.0.0.0 \
    Router__Persistence__ConnectionString="Data Source=/data/router.db"
USER 10001:10001
EXPOSE 8080 8081 4053
# The Kubernetes preStop hook runs `sleep` from this (Ubuntu-based) image; a distroless
# or chiseled base would need the native `sleep` lifecycle action instead.
ENTRYPOINT ["dotnet", "Router.Node.dll"]
