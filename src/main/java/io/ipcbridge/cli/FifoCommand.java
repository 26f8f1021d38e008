package io.ipcbridge.cli;

import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.pipe.PipeSink;
import io.ipcbridge.pipe.PipeSource;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ipcbridge fifo create|read|write|rm}: named pipes through {@link Fifo}, which never follows
 * a symbolic link and never opens anything but a FIFO of this user (or root, writable by no one else).
 */
@Command(name = "fifo", mixinStandardHelpOptions = true, version = Main.VERSION,
        description = "Named pipes (FIFOs): create one, copy it to stdout, copy stdin into it, remove it.",
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {FifoCommand.Create.class, FifoCommand.Read.class, FifoCommand.Write.class,
                FifoCommand.Remove.class, HelpCommand.class})
final class FifoCommand {

    /** {@code fifo create PATH [--mode M] [--exist-ok]}: mkfifo(3). */
    @Command(name = "create", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Creates a FIFO with mkfifo(3) and exactly the given mode.",
                "An existing entry is never replaced or followed: with --exist-ok an existing FIFO is "
                        + "accepted as it is; anything else there (a file, a symbolic link) is an error."})
    static final class Create implements Callable<Integer> {
        @Parameters(paramLabel = "PATH", converter = Argv.GivenPath.class,
                description = "Where to create the FIFO.")
        Path path;

        @Mixin
        ModeOption mode;

        @Option(names = "--exist-ok", description = "Succeed when a FIFO of this user, no more open than --mode, is already there.")
        boolean existOk;

        @Override
        public Integer call() throws Exception {
            if (!existOk) {
                Fifo.create(path, mode.value());
                return ExitCodes.OK;
            }
            try {
                Fifo.createIfAbsent(path, mode.value());
            } catch (IpcSecurityException refused) {
                // the library's EEXIST, and what is there instead of a FIFO of ours (CLI-06)
                throw CommandFailure.refused("mkfifo(" + path + "): EEXIST (File exists): " + refused.getReason());
            }
            return ExitCodes.OK;
        }
    }

    /** {@code fifo read PATH [--timeout D]}: the FIFO to stdout until end of file. */
    @Command(name = "read", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Opens the FIFO for reading (waiting for a writer) and copies what arrives to "
                    + "stdout until every writer has closed it, or until stdout is closed.",
                "--timeout bounds the wait for a writer; exit status 3 when none came."})
    static final class Read implements Callable<Integer> {
        @Parameters(paramLabel = "PATH", converter = Argv.GivenPath.class, description = "The FIFO.")
        Path path;

        @Mixin
        TimeoutOption timeout;

        @Override
        public Integer call() throws Exception {
            Duration limit = timeout.value();
            // CLI-04: once stdout's reader has gone, nothing more is taken out of the FIFO, and a wait
            // for a writer ends too (it would take the first writer's bytes only to lose them)
            Stdout.whileReaderStays(watch -> {
                Optional<PipeSource> opened = limit == null ? Optional.of(Fifo.openReader(path))
                        : Fifo.openReader(path, limit);
                try (PipeSource source = opened.orElseThrow(() -> timedOut(path, limit, "writer"))) {
                    RawIo.copyToStdout(source, watch);
                }
            });
            return ExitCodes.OK;
        }
    }

    /** {@code fifo write PATH [--timeout D]}: stdin into the FIFO. */
    @Command(name = "write", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Opens the FIFO for writing (waiting for a reader) and copies stdin into it; "
                    + "an empty stdin still opens it, so the reader sees end of file.",
                "--timeout bounds the wait for a reader; exit status 3 when none came."})
    static final class Write implements Callable<Integer> {
        @Parameters(paramLabel = "PATH", converter = Argv.GivenPath.class, description = "The FIFO.")
        Path path;

        @Mixin
        TimeoutOption timeout;

        @Override
        public Integer call() throws Exception {
            Duration limit = timeout.value();
            Optional<PipeSink> opened = limit == null ? Optional.of(Fifo.openWriter(path)) : Fifo.openWriter(path, limit);
            try (PipeSink sink = opened.orElseThrow(() -> timedOut(path, limit, "reader"))) {
                RawIo.copyFromStdin(sink);
            }
            return ExitCodes.OK;
        }
    }

    /** {@code fifo rm PATH}: unlink(2), of a FIFO only. */
    @Command(name = "rm", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = "Removes the FIFO; refuses (exit 1) anything that is not a FIFO.")
    static final class Remove implements Callable<Integer> {
        @Parameters(paramLabel = "PATH", converter = Argv.GivenPath.class, description = "The FIFO.")
        Path path;

        @Override
        public Integer call() throws Exception {
            Fifo.delete(path);
            return ExitCodes.OK;
        }
    }

    private static CommandFailure timedOut(Path path, Duration limit, String peer) {
        if (limit.isZero()) {
            return CommandFailure.wouldBlock("open", path.toString(), "no " + peer + " has it open (--timeout 0)");
        }
        // The errno form of sem, mq and ring's timed waits (CLI-02).
        return CommandFailure.timedOut("open", path.toString(), "no " + peer + " came within " + Durations.format(limit));
    }
}
