package claudecli

import (
	"context"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MCPServerName is the name the scenarios give the MCP server in --mcp-config;
// its tools are mcp__chx__<tool> to the CLI.
const MCPServerName = "chx"

type askInput struct {
	Question string `json:"question" jsonschema:"what to ask the user"`
}

type askOutput struct {
	Action string `json:"action"`
	Answer string `json:"answer,omitempty"`
}

// ServeMCP runs a tiny MCP server on stdin and stdout until the client closes
// them. Its one tool, ask, asks the user through an elicitation and returns
// what the client answered; the scenarios use it to make the CLI fire
// Elicitation and ElicitationResult.
func ServeMCP(ctx context.Context) error {
	s := mcp.NewServer(&mcp.Implementation{Name: MCPServerName, Version: "v1.0.0"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "ask", Description: "Ask the user a question"},
		func(_ context.Context, req *mcp.CallToolRequest, in askInput) (*mcp.CallToolResult, askOutput, error) {
			// Protocol 2026-07-28 asks the client for input in the tool's result
			// (multi round-trip): the client answers and calls the tool again.
			res, ok := req.Params.InputResponses["answer"].(*mcp.ElicitResult)
			if !ok {
				return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{"answer": &mcp.ElicitParams{
					Message: in.Question,
					RequestedSchema: &jsonschema.Schema{
						Type:       "object",
						Properties: map[string]*jsonschema.Schema{"answer": {Type: "string"}},
					},
				}}}, askOutput{}, nil
			}
			out := askOutput{Action: res.Action}
			if a, ok := res.Content["answer"].(string); ok {
				out.Answer = a
			}
			return nil, out, nil
		})
	if err := s.Run(ctx, &mcp.StdioTransport{}); err != nil {
		return fmt.Errorf("mcp server: %w", err)
	}
	return nil
}
