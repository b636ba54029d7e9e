"""Checks of Chrome Trace Event files that several tests make."""


def check_nesting(events):
    """Per thread, complete events nest: one that starts inside another
    ends inside it (what trace viewers need to stack them)."""
    for tid in {e["tid"] for e in events}:
        evs = sorted((e for e in events if e["tid"] == tid),
                     key=lambda e: (e["ts"], -e["dur"]))
        ends = []
        for e in evs:
            while ends and e["ts"] >= ends[-1] - 1e-6:
                ends.pop()
            if ends:
                assert e["ts"] + e["dur"] <= ends[-1] + 1e-3, (e, ends[-1])
            ends.append(e["ts"] + e["dur"])
