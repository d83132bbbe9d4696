"""Claude agents on the anthropic SDK: the conversation state, the live loop, retries, the endpoint,
prices and the preflight. Nothing here knows an operation; the engine talks to the loop through hooks."""
