using System.Text;
using Router.Actors.Batches;

namespace Router.Actors.Tests.Batches;

public sealed class BatchInputTests
{
    private const string Endpoint = "/v1/chat/completions";

    private static BatchInput Parse(string text) => BatchInput.Parse(Encoding.UTF8.GetBytes(text), Endpoint);

    private static string Line(string customId) =>
        "{\"custom_id\":\"" + customId + "\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"m\",\"messages\":[]}}";

    [Fact]
    public void Keeps_valid_lines_in_order_with_their_line_numbers_and_skips_blank_lines()
    {
        var input = Parse(Line("a") + "\r\n\n" + Line("b") + "\n   \n" + Line("c"));

        Assert.Equal(["a", "b", "c"], input.Items.Select(i => i.CustomId));
        Assert.Equal([0, 1, 2], input.Items.Select(i => i.Index));
        Assert.Equal([1, 3, 5], input.Items.Select(i => i.LineNumber));
        Assert.Equal("""{"model":"m","messages":[]}""", input.Items[0].Body);
        Assert.Empty(input.Errors);
        Assert.Equal(3, input.Total);
    }

    [Fact]
    public void Reports_each_bad_line_with_its_number_and_reason_and_keeps_the_rest()
    {
        var input = Parse(string.Join('\n',
            Line("a"),
            "{not json",
            """{"method":"POST","url":"/v1/chat/completions","body":{}}""",
            """{"custom_id":"m","method":"GET","url":"/v1/chat/completions","body":{}}""",
            """{"custom_id":"u","method":"POST","url":"/v1/embeddings","body":{}}""",
            """{"custom_id":"b","method":"POST","url":"/v1/chat/completions","body":"text"}""",
            Line("a"),
            "[1,2]",
            Line("a") + " {}",
            Line("z")));

        Assert.Equal(["a", "z"], input.Items.Select(i => i.CustomId));
        Assert.Equal([0, 1], input.Items.Select(i => i.Index));
        Assert.Equal(
            [(2, "invalid_json"), (3, "missing_custom_id"), (4, "invalid_method"), (5, "invalid_url"), (6, "missing_body"),
             (7, "duplicate_custom_id"), (8, "invalid_json"), (9, "invalid_json")],
            input.Errors.Select(e => (e.Line, e.Code)));
        Assert.Equal("m", input.Errors[2].CustomId);
        Assert.Equal(10, input.Total);
    }

    [Fact]
    public void Counts_request_lines_like_the_parser_does()
    {
        var text = Line("a") + "\n\n{broken\n" + Line("b") + "\n";

        Assert.Equal(3, BatchInput.CountLines(Encoding.UTF8.GetBytes(text)));
        Assert.Equal(3, Parse(text).Total);
    }

    [Fact]
    public void Accepts_a_byte_order_mark_on_the_first_line()
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(Line("a"))).ToArray();

        Assert.Equal("a", Assert.Single(BatchInput.Parse(bytes, Endpoint).Items).CustomId);
    }
}
