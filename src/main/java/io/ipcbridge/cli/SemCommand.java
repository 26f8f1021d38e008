package io.ipcbridge.cli;

import io.ipcbridge.sem.Semaphore;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ipcbridge sem create|post|wait|trywait|value|rm}: POSIX named semaphores through {@link Semaphore}. */
@Command(name = "sem", mixinStandardHelpOptions = true, version = Main.VERSION,
        description = {"POSIX named semaphores: create one, post, wait, try, show the value, remove it.",
            "Names have at most 251 bytes after the slash (glibc keeps them as /dev/shm/sem.NAME)."},
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {SemCommand.Create.class, SemCommand.Post.class, SemCommand.Wait.class, SemCommand.TryWait.class,
                SemCommand.Value.class, SemCommand.Remove.class, HelpCommand.class})
final class SemCommand {
    private SemCommand() {
    }

    /** {@code sem create NAME [--value N] [--mode M] [--exclusive]}: sem_open(3) with O_CREAT. */
    @Command(name = "create", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Creates a semaphore of value N with exactly the given mode (default 0600).",
                "Without --exclusive an existing semaphore is accepted as it is, its value included; one more "
                        + "open than the mode asked for (others may have written into it) is refused.",
                "A value past SEM_VALUE_MAX (2147483647) fails with exit status 1."})
    static final class Create implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", converter = ObjectNames.Sem.class, description = "The semaphore, /name.")
        String name;

        @Option(names = "--value", paramLabel = "N", converter = Counts.NonNegative.class, defaultValue = "0",
                description = "Its initial value (default: ${DEFAULT-VALUE}).")
        long value;

        @Mixin
        ModeOption mode;

        @Option(names = "--exclusive", description = "Fail (exit 1, EEXIST) when the semaphore exists.")
        boolean exclusive;

        @Override
        public Integer call() throws Exception {
            if (value > Semaphore.VALUE_MAX) { // SEM-03: never wraps
                throw CommandFailure.refused("sem_open(" + name + "): value " + value + " is past SEM_VALUE_MAX ("
                        + Semaphore.VALUE_MAX + "); nothing was created");
            }
            Semaphore s = exclusive ? Semaphore.createExclusively(name, (int) value, mode.value())
                    : Semaphore.createOrOpen(name, (int) value, mode.value());
            s.close();
            return ExitCodes.OK;
        }
    }

    /** {@code sem post NAME [--count N]}: sem_post(3), N times. */
    @Command(name = "post", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Adds N to the value (sem_post N times), waking as many waiters.",
                "When that would pass SEM_VALUE_MAX (2147483647) nothing is posted: exit 1, EOVERFLOW."})
    static final class Post implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", converter = ObjectNames.Sem.class, description = "The semaphore.")
        String name;

        @Option(names = "--count", paramLabel = "N", converter = Counts.Positive.class, defaultValue = "1",
                description = "How many (default: ${DEFAULT-VALUE}).")
        long count;

        @Override
        public Integer call() throws Exception {
            if (count > Semaphore.VALUE_MAX) {
                throw CommandFailure.refused("sem_post(" + name + "): EOVERFLOW (Value too large for defined data "
                        + "type): " + count + " posts would pass SEM_VALUE_MAX (" + Semaphore.VALUE_MAX
                        + "); nothing was posted");
            }
            try (Semaphore s = Semaphore.open(name)) {
                s.release((int) count);
            }
            return ExitCodes.OK;
        }
    }

    /** {@code sem wait NAME [--timeout D]}: sem_wait(3), or sem_clockwait with a timeout. */
    @Command(name = "wait", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Takes one from the value, waiting while it is 0.",
                "--timeout bounds the wait: exit status 3 when it passes (--timeout 0 is sem trywait)."})
    static final class Wait implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", converter = ObjectNames.Sem.class, description = "The semaphore.")
        String name;

        @Mixin
        TimeoutOption timeout;

        @Override
        public Integer call() throws Exception {
            Duration limit = timeout.value();
            try (Semaphore s = Semaphore.open(name)) {
                if (limit == null) {
                    s.acquire();
                } else if (!s.tryAcquire(limit)) {
                    throw limit.isZero() ? CommandFailure.wouldBlock("sem_trywait", name, "the value is 0")
                            : CommandFailure.timedOut("sem_clockwait", name, "the value stayed 0 for "
                                    + Durations.format(limit));
                }
            }
            return ExitCodes.OK;
        }
    }

    /** {@code sem trywait NAME}: sem_trywait(3). */
    @Command(name = "trywait", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = "Takes one from the value if it is above 0; exit status 3 (and the value unchanged) "
                    + "when it is 0.")
    static final class TryWait implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", converter = ObjectNames.Sem.class, description = "The semaphore.")
        String name;

        @Override
        public Integer call() throws Exception {
            try (Semaphore s = Semaphore.open(name)) {
                if (!s.tryAcquire()) {
                    throw CommandFailure.wouldBlock("sem_trywait", name, "the value is 0");
                }
            }
            return ExitCodes.OK;
        }
    }

    /** {@code sem value NAME}: sem_getvalue(3). */
    @Command(name = "value", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = "Prints the value as a decimal line (0, never negative, while processes wait).")
    static final class Value implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "NAME", converter = ObjectNames.Sem.class, description = "The semaphore.")
        String name;

        @Override
        public Integer call() throws Exception {
            try (Semaphore s = Semaphore.open(name)) {
                spec.commandLine().getOut().println(s.value());
                spec.commandLine().getOut().flush();
            }
            return ExitCodes.OK;
        }
    }

    /** {@code sem rm NAME}: sem_unlink(3). */
    @Command(name = "rm", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = "Removes the semaphore's name (sem_unlink); who has it open keeps using it.")
    static final class Remove implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", converter = ObjectNames.Sem.class, description = "The semaphore.")
        String name;

        @Override
        public Integer call() throws Exception {
            Semaphore.unlink(name);
            return ExitCodes.OK;
        }
    }
}
