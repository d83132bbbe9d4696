"""The simulated word-count agent: reads every file in one turn, writes the counts, ends."""

from dataclasses import dataclass

from runs.operations.base import final_message
from runs.simulator.players import (
    Conversation,
    Player,
    Turn,
    after_write,
    result_ok,
    result_text,
    text,
    thinking,
    tool_use,
)
from runs.tools import EMPTY_FILE_RESULT

from .operation import MARKER, count_words, parse_assignment


@dataclass(frozen=True)
class Assignment:
    run_id: str
    index: int


class WordCountPlayer(Player):
    name = "word-count"
    marker = MARKER

    def assignment(self, conversation: Conversation) -> Assignment | None:
        found = parse_assignment(conversation.first_user_text)
        return Assignment(found["run_id"], found["index"]) if found else None

    def play(self, conversation: Conversation, behaviour: str | None) -> Turn:
        found = parse_assignment(conversation.first_user_text)
        if found is None:
            return Turn([text("I found no assignment in the first message.")])
        reads, writes = {}, []
        for use, result in conversation.tool_results():
            if use.get("name") == "read_file" and result_ok(result):
                # read_file says so in words when a file is empty: those words are not the file's.
                content = result_text(result)
                reads[use["input"]["path"]] = "" if content == EMPTY_FILE_RESULT else content
            elif use.get("name") == "write_file":
                writes.append(result)
        if writes:
            final = final_message(found["output_path"])
            return after_write(writes[-1], behaviour, final=final, wrong_final="Done.", refused="Refused.")
        if not reads:
            uses = [tool_use("read_file", {"path": path}, behaviour) for path in found["files"]]
            return Turn([thinking(f"{len(uses)} files to count."), *uses], stop_reason="tool_use")
        content = "".join(f"{path}: {count_words(reads[path])}\n" for path in found["files"] if path in reads)
        write = tool_use("write_file", {"path": found["output_path"], "content": content}, behaviour)
        return Turn([thinking("Counted; writing."), write], stop_reason="tool_use")
