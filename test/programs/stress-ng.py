"""stress-ng.py - stress-ng's lock stressors, short runs, natively and
under lockonfault in each mode (auto, sigsegv, the simulated 4.3; each
with defaults, and LOCKONFAULT_MIN_SIZE=0 so that its one-page locks
are managed too):

  --mlock                     mlock/mlock2/mlockall with invalid and
                              valid arguments, in a forked child that
                              maps until the kernel refuses;
  --mlockmany --pathological  many processes locking and unlocking;
  --vm --vm-locked --verify   MAP_LOCKED memory written and verified.

Each must report a successful run and exit 0 as natively, with
vm.max_map_count left at its default.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lofprog as T  # noqa: E402

SECS = os.environ.get("LOF_PROGRAMS_STRESS_SECS", "3")
RUNS = [
    ["--mlock", "1"],
    ["--mlockmany", "1", "--pathological"],
    ["--vm", "1", "--vm-locked", "--vm-bytes", "256m", "--verify"],
]
VARIANTS = ([("native", {})] +
            [(m, e) for m in T.LOF_MODES
             for e in ({}, {"LOCKONFAULT_MIN_SIZE": "0"})])


def main():
    T.start("stress-ng", needs=["stress-ng"])
    T.check_engines()
    before = T.max_map_count()
    for args in RUNS:
        argv = ["stress-ng"] + args + ["--timeout", SECS + "s"]
        for mode, env in VARIANTS:
            tag = "stress-ng %s, %s%s" % (" ".join(args), mode,
                                          " MIN_SIZE=0" if env else "")
            st, out, err, wall = T.run(mode, argv, env=env,
                                       timeout=int(SECS) * 10 + 60)
            text = (out + err).decode(errors="replace")
            T.ok(st == 0 and "successful run completed" in text,
                 tag + ": a successful run, exit status 0",
                 "status %s\n%s" % (st, text[-2000:]))
            mine = [ln for ln in text.splitlines()
                    if ln.startswith("lockonfault:")]
            if mode == "native":
                pass
            elif env.get("LOCKONFAULT_MIN_SIZE") == "0" and \
                    args[0] == "--mlock":
                # A known gap, intermittent, so not a test: a pending
                # range merged with a neighbouring PROT_NONE mapping
                # cannot be reopened once the child has filled
                # vm.max_map_count (README, Semantics); a warning only.
                if mine:
                    T.note("known gap, %s: %s" % (tag, "; ".join(mine)))
            elif mode == "sim43" and args[0] == "--vm":
                # Without the kernel's lock-on-fault every opened page
                # splits a kernel mapping; the vm stressor's random
                # methods touch 65,536 scattered pages, more than
                # vm.max_map_count allows as islands, so the engine may
                # say once that it resolves whole regions (its documented
                # limit: liblockonfault(7), LIMITATIONS). That line and
                # no other.
                budget = "lockonfault: near vm.max_map_count: " \
                         "resolving whole regions"
                other = [ln for ln in mine if ln != budget]
                T.ok(not other, tag + ": no warning from the library "
                     "but the mapping budget's",
                     "\n".join(other))
                if mine and not other:
                    T.note("%s: %s" % (tag, budget))
            else:
                T.ok(not mine, tag + ": no warning from the library",
                     "\n".join(mine))
            T.result(program="stress-ng " + " ".join(args),
                     what="%ss run" % SECS,
                     mode=mode + (" MIN_SIZE=0" if env else ""),
                     seconds=wall)
    after = T.max_map_count()
    T.ok(before == 65530,
         "the runs were made with vm.max_map_count at its default, 65530",
         "it was %d: something else on this machine raised it" % before)
    T.ok(after == before, "vm.max_map_count unchanged by the runs",
         "before %d, after %d" % (before, after))


if __name__ == "__main__":
    main()
