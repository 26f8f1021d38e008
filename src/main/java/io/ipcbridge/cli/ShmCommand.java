package io.ipcbridge.cli;

import io.ipcbridge.shm.SharedMemory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ipcbridge shm create|write|read|info|rm}: POSIX shared memory through {@link SharedMemory}. */
@Command(name = "shm", mixinStandardHelpOptions = true, version = Main.VERSION,
        description = "POSIX shared memory: create a segment, copy stdin into it or it to stdout, show it, remove it.",
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {ShmCommand.Create.class, ShmCommand.Write.class, ShmCommand.Read.class, ShmCommand.Info.class,
                ShmCommand.Remove.class, HelpCommand.class})
final class ShmCommand {
    private ShmCommand() {
    }

    /** {@code shm create NAME --size S [--mode M] [--exclusive]}: shm_open(3), ftruncate, posix_fallocate. */
    @Command(name = "create", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Creates a segment of S zero bytes (reserved at once: a full /dev/shm fails now, "
                    + "with ENOSPC, not later) with exactly the given mode (default 0600).",
                "Without --exclusive an existing segment of this user is accepted as it is, its size "
                        + "included; one of another user, one more open than the mode asked for (others may have "
                        + "written into it), or one with no size yet (0 bytes), is refused.",
                "S is at most 2GiB - 1 (one mapping): a larger size fails with exit status 1."})
    static final class Create implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", converter = ObjectNames.Segment.class, description = "The segment, /name.")
        String name;

        @Option(names = "--size", paramLabel = "S", required = true, converter = Sizes.Positive.class,
                description = "Its size (4096, 4k, 64KiB, 1MiB).")
        long size;

        @Mixin
        ModeOption mode;

        @Option(names = "--exclusive", description = "Fail (exit 1, EEXIST) when the segment exists.")
        boolean exclusive;

        @Override
        public Integer call() throws Exception {
            if (size > Integer.MAX_VALUE) {
                throw CommandFailure.refused("shm_open(" + name + "): " + size + " bytes is more than one mapping "
                        + "can hold (" + Integer.MAX_VALUE + "); nothing was created");
            }
            try (SharedMemory shm = exclusive ? SharedMemory.createExclusively(name, size, mode.value())
                    : SharedMemory.createOrOpen(name, size, mode.value())) {
                if (shm.size() == 0) {
                    // SHM-05: its creator is between shm_open and ftruncate, or died there; sizing it
                    // here could shrink what that creator sizes meanwhile
                    throw CommandFailure.refused(name + ": exists with no size (0 bytes): its creator has not "
                            + "sized it; nothing was changed");
                }
            }
            return ExitCodes.OK;
        }
    }

    /** {@code shm write NAME [--offset N]}: stdin into the segment. */
    @Command(name = "write", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Copies stdin into the segment from offset N on (binary-safe).",
                "All of stdin is read before anything is written: data that would pass the end of the "
                        + "segment is refused (exit 1) and nothing is written then."})
    static final class Write implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", converter = ObjectNames.Segment.class, description = "The segment.")
        String name;

        @Option(names = "--offset", paramLabel = "N", converter = Sizes.class, defaultValue = "0",
                description = "Where to start, in bytes (size syntax; default: ${DEFAULT-VALUE}).")
        long offset;

        @Override
        public Integer call() throws Exception {
            try (SharedMemory shm = SharedMemory.open(name, false)) {
                int size = shm.size();
                if (offset > size) {
                    throw CommandFailure.refused(name + ": offset " + offset + " is past the end of the segment ("
                            + size + " bytes); nothing was written");
                }
                int room = (int) (size - offset);
                byte[] data = RawIo.readStdin(room);
                if (RawIo.stdinHasMore()) {
                    throw CommandFailure.refused(name + ": stdin holds more than the " + room + " bytes from offset "
                            + offset + " to the end of the segment (" + size + " bytes); nothing was written");
                }
                shm.buffer().put((int) offset, data);
            }
            return ExitCodes.OK;
        }
    }

    /** {@code shm read NAME [--offset N] [--length N]}: the segment to stdout. */
    @Command(name = "read", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Copies the segment to stdout (binary-safe): LENGTH bytes from offset N, by default "
                    + "all from N to the end.",
                "A range past the end of the segment is refused (exit 1) and nothing is written."})
    static final class Read implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", converter = ObjectNames.Segment.class, description = "The segment.")
        String name;

        @Option(names = "--offset", paramLabel = "N", converter = Sizes.class, defaultValue = "0",
                description = "Where to start, in bytes (size syntax; default: ${DEFAULT-VALUE}).")
        long offset;

        @Option(names = "--length", paramLabel = "N", converter = Sizes.class,
                description = "How many bytes (size syntax; default: to the end).")
        Long length;

        @Override
        public Integer call() throws Exception {
            try (SharedMemory shm = SharedMemory.open(name, true)) {
                int size = shm.size();
                long n = length != null ? length : Math.max(0, size - offset);
                if (offset > size || n > size - offset) {
                    throw CommandFailure.refused(name + ": " + n + " bytes at offset " + offset + " pass the end of "
                            + "the segment (" + size + " bytes); nothing was read");
                }
                RawIo.copyToStdout(shm.buffer().slice((int) offset, (int) n));
            }
            return ExitCodes.OK;
        }
    }

    /** {@code shm info NAME [--json]}: fstat(2) of the segment. */
    @Command(name = "info", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = "Shows the segment's name, size, mode, uid and gid, one \"key: value\" line each, or one "
                    + "JSON object with --json.")
    static final class Info implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "NAME", converter = ObjectNames.Segment.class, description = "The segment.")
        String name;

        @Mixin
        JsonOption json;

        @Override
        public Integer call() throws Exception {
            SharedMemory.Info info = SharedMemory.info(name);
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put("name", name);
            fields.put("size", info.size());
            fields.put("mode", Json.mode(info.mode()));
            fields.put("uid", Integer.toUnsignedLong(info.uid()));
            fields.put("gid", Integer.toUnsignedLong(info.gid()));
            json.print(spec.commandLine().getOut(), fields);
            return ExitCodes.OK;
        }
    }

    /** {@code shm rm NAME}: shm_unlink(3). */
    @Command(name = "rm", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = "Removes the segment's name (shm_unlink); mappings that exist stay valid.")
    static final class Remove implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", converter = ObjectNames.Segment.class, description = "The segment.")
        String name;

        @Override
        public Integer call() throws Exception {
            SharedMemory.unlink(name);
            return ExitCodes.OK;
        }
    }
}
