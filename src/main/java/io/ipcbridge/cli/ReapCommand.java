package io.ipcbridge.cli;

import io.ipcbridge.Reaper;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ipcbridge reap PREFIX [--json]}: {@link Reaper#reap(String)} from a shell, one line (or one
 * JSON object) per object removed.
 */
@Command(name = "reap", mixinStandardHelpOptions = true, version = Main.VERSION,
        description = {"Removes the shared memory segments, rings, semaphores and message queues of PREFIX "
                + "whose creator is gone: objects named PREFIX.PID.START.PIDNS.LABEL (the creator's pid, its "
                + "start time from field 22 of /proc/PID/stat, the inode of /proc/PID/ns/pid), of this user, "
                + "whose process no longer runs, runs with another start time (a reused pid) or is a zombie.",
            "An object of another user, of a creator in another pid namespace, or of one /proc hides, is left "
                + "alone. A process that has a removed object open keeps it: the name goes, not the object.",
            "One line per object removed, tab-separated: TYPE NAME PID, TYPE being shm (a segment or a ring), "
                + "sem or mq. Nothing to remove: no output, exit 0. An object that cannot be removed stops no "
                + "other: the others are removed and printed, then one error line, exit 1.",
            "--json: one array of objects with the keys type, name, pid.",
            "A shell names its objects the same way: "
                + "\"/PREFIX.$$$$.$(sed -n '$s/.*) //p' /proc/$$$$/stat | cut -d' ' -f20).$(stat -Lc %%i /proc/$$$$/ns/pid)"
                + ".LABEL\" (START is the 20th field after the command name, which may hold spaces)."})
final class ReapCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "PREFIX", converter = ObjectNames.Segment.class,
            description = "The prefix of the names, /prefix.")
    String prefix;

    @Option(names = "--json", description = "One JSON array of objects on one line.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try {
            print(Reaper.reap(prefix));
        } catch (Reaper.IncompleteReapException e) {
            print(e.removed()); // what was removed all the same, then the error line
            throw e;
        }
        return ExitCodes.OK;
    }

    private void print(List<Reaper.Removed> removed) {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.array(removed.stream().map(r -> {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("type", r.type());
                o.put("name", r.name());
                o.put("pid", r.pid());
                return o;
            }).toList()));
        } else {
            for (Reaper.Removed r : removed) {
                out.println(r.type() + "\t" + r.name() + "\t" + r.pid());
            }
        }
        out.flush();
    }
}
