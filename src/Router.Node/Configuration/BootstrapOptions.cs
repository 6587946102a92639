namespace Router.Node.Configuration;

/// <summary>
/// <c>Router:Cluster:Bootstrap</c>: Akka.Management cluster bootstrap, used when <c>Router:Cluster:Discovery</c> is
/// <c>kubernetes</c> (docs/kubernetes.md). Nodes find each other by listing the pods that carry
/// <see cref="PodLabelSelector"/> through the Kubernetes API, probe each other's management endpoint, and the
/// lowest-addressed pod forms the cluster once <see cref="RequiredContactPoints"/> pods have been seen unchanged for
/// <see cref="StableMarginSeconds"/>; the others join it.
/// </summary>
public sealed class BootstrapOptions
{
    /// <summary>Value of the <c>app</c> label the pods are listed by; the selector is <c>app=ServiceName</c> unless <see cref="PodLabelSelector"/> is set.</summary>
    public string ServiceName { get; set; } = "router";

    /// <summary>Label selector for the pods to list; <c>{0}</c> is replaced by <see cref="ServiceName"/>.</summary>
    public string PodLabelSelector { get; set; } = "app={0}";

    /// <summary>Namespace to list pods in; empty reads the pod's own namespace from its service-account mount.</summary>
    public string? Namespace { get; set; }

    /// <summary>Port of the Akka.Management HTTP endpoint (contact-point probing). The container port is named <c>management</c>.</summary>
    public int ManagementPort { get; set; } = 8558;

    /// <summary>
    /// Address this node's management endpoint announces: it must be what discovery returns for this pod (its IP,
    /// since pods are listed with their raw IPs), or no pod recognises itself as the lowest contact point and no
    /// cluster forms. Empty: the machine's host name (fine outside Kubernetes only).
    /// </summary>
    public string? ManagementHostname { get; set; }

    /// <summary>Pods that must be discovered before the first one may form a new cluster (a StatefulSet's replica count is the safe value).</summary>
    public int RequiredContactPoints { get; set; } = 2;

    /// <summary>How long the discovered set must stay unchanged before a new cluster is formed, seconds.</summary>
    public double StableMarginSeconds { get; set; } = 5;

    /// <summary>How often pods are listed while bootstrapping, seconds.</summary>
    public double DiscoveryIntervalSeconds { get; set; } = 1;
}
