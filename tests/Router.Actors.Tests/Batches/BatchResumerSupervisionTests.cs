using Akka;
using Akka.Actor;
using Akka.Streams.Dsl;
using Router.Actors.Batches;
using Router.Contracts.Batches;
using Xunit.Abstractions;

namespace Router.Actors.Tests.Batches;

/// <summary>
/// Supervision of the node-local actors (docs/operations.md, Supervision): a <see cref="SupervisionHosting.WithBackoffOnFailure"/>
/// supervisor restarts the resume sweep after it failed because the journal's query side was unavailable, and the
/// restarted sweep wakes the unfinished jobs once the journal answers again.
/// </summary>
public sealed class BatchResumerSupervisionTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = ERROR", output)
{
    [Fact]
    public void A_sweep_that_cannot_reach_the_journal_is_restarted_with_backoff_and_resumes_jobs_when_it_can()
    {
        var region = CreateTestProbe();
        var calls = 0;
        Source<string, NotUsed> BatchIds()
        {
            // The first two sweeps find the journal unavailable (the read journal cannot be created).
            if (Interlocked.Increment(ref calls) <= 2) throw new InvalidOperationException("journal unavailable");
            return Source.From(["job-1", "job-2"]);
        }

        Sys.ActorOf(BatchResumer.Props(region.Ref, BatchIds, TimeSpan.FromHours(1))
            .WithBackoffOnFailure("resumer", TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200)), "batch-resumer");

        var woken = new[] { region.ExpectMsg<BatchCommands.Resume>(TimeSpan.FromSeconds(10)).BatchId,
                            region.ExpectMsg<BatchCommands.Resume>(TimeSpan.FromSeconds(10)).BatchId };
        Assert.Equal(["job-1", "job-2"], woken.Order());
        Assert.Equal(3, Volatile.Read(ref calls));

    }
}
