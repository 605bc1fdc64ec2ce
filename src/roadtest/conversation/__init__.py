"""Conversations with tools: the customer (a script or a simulated one), declarative tools, the text protocol
for completion models, and the state machine that turns archived turns into the next call or an end state.

Everything here is pure: the engine sends the calls the state machine asks for, scoring replays the same state
machine over the archived turns, so a resume, a replay and a rerun all see one conversation the same way.
"""

# Submodules are imported by name (roadtest.conversation.dialogue, .tools, .protocol, .faults): the plan imports
# tools and protocol, the dialogue imports the plan's Trial, and an eager import here would make that a cycle.
