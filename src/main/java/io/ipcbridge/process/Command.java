package io.ipcbridge.process;

import io.ipcbridge.Descriptor;
import io.ipcbridge.HasDescriptor;
import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * A command to spawn with posix_spawnp(3), with any descriptors placed on chosen fd numbers in the
 * child: a pipe end on fd 3, a FIFO as stdin, a socket on fd 4. What the JDK's
 * {@link ProcessBuilder} cannot do.
 *
 * <p>In the child, fds 0, 1 and 2 are the JVM's own unless placed (or fd 2 merged into fd 1,
 * {@link #redirectErrorStream}); every other descriptor is closed (the JVM's own included,
 * close-on-exec or not), so only the placed ones are open. Signal dispositions are reset to their
 * defaults and the signal mask is empty, so {@code yes | head -1} ends as it does in a shell. The
 * parent's descriptors are not consumed: close your copy after {@link #start()} when the child
 * alone should hold the end (so that end of file can reach a reader).
 *
 * <p>A placed descriptor shares the JVM's open file description, as dup2(2) makes it: its offset and
 * its status flags, O_NONBLOCK included. Pipe ends, FIFOs, shared memory and sockets are blocking
 * unless made otherwise; a {@link io.ipcbridge.socket.ServerSocket} becomes non-blocking at its first
 * timed accept, and a child's accept(2) on it then fails with EAGAIN when no connection waits.
 *
 * <pre>{@code
 * try (Pipe pipe = Pipe.open();
 *      ChildProcess child = Command.of("./peer", "sink", "3").fd(3, pipe.source()).start()) {
 *     pipe.source().close();
 *     pipe.sink().write(data);
 *     pipe.sink().close();
 *     ExitStatus status = child.waitFor();
 * }
 * }</pre>
 */
public final class Command {
    private final List<String> argv;
    private final TreeMap<Integer, Descriptor> fds = new TreeMap<>();
    private Map<String, String> environment;
    /** Whether the child also gets the startup variables that {@link #environment} does not set. */
    private boolean withStartupEnvironment;
    private Path directory;
    private boolean redirectErrorStream;

    private Command(List<String> argv) {
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        for (String arg : argv) {
            if (Objects.requireNonNull(arg, "argument").indexOf('\0') >= 0) {
                throw new IllegalArgumentException("argument contains NUL: " + arg.replace('\0', '?'));
            }
        }
        if (argv.get(0).isEmpty()) { // posix_spawnp("") is an ENOENT that names nothing
            throw new IllegalArgumentException("an empty program name names no program");
        }
        this.argv = List.copyOf(argv);
    }

    /**
     * The program (looked up in PATH unless it contains a slash) and its arguments.
     *
     * @throws IllegalArgumentException if there is no program, it is empty, or an argument holds a NUL
     */
    public static Command of(String... argv) {
        return new Command(Arrays.asList(Objects.requireNonNull(argv, "argv").clone()));
    }

    /** As {@link #of(String...)}. */
    public static Command of(List<String> argv) {
        return new Command(argv);
    }

    /** The arguments, program first. */
    public List<String> arguments() {
        return argv;
    }

    /**
     * Places {@code object}'s descriptor on fd {@code target} in the child (0 is stdin, 1 stdout, 2
     * stderr): a pipe end, a FIFO, a socket, a queue, a shared memory segment, any {@link Descriptor}.
     *
     * @throws IllegalStateException if {@code target} is 2 and {@link #redirectErrorStream} is set
     */
    public Command fd(int target, HasDescriptor object) {
        if (target < 0) {
            throw new IllegalArgumentException("negative fd: " + target);
        }
        if (target == 2 && redirectErrorStream) {
            throw new IllegalStateException("fd 2 is merged into fd 1 (redirectErrorStream): it cannot be placed too");
        }
        fds.put(target, Objects.requireNonNull(object, "object").descriptor());
        return this;
    }

    /** Places {@code object} on the child's stdin. */
    public Command stdin(HasDescriptor object) {
        return fd(0, object);
    }

    /** Places {@code object} on the child's stdout. */
    public Command stdout(HasDescriptor object) {
        return fd(1, object);
    }

    /** Places {@code object} on the child's stderr. */
    public Command stderr(HasDescriptor object) {
        return fd(2, object);
    }

    /**
     * Merges the child's stderr into its stdout, as {@link ProcessBuilder#redirectErrorStream} and
     * the shell's {@code 2>&1}: fd 2 becomes a copy of whatever fd 1 is at the spawn, a placed
     * descriptor, a {@link Pipeline}'s pipe, or the JVM's own stdout. Off by default.
     *
     * @throws IllegalStateException if {@code merge} is true and fd 2 is placed ({@link #stderr},
     *     {@link #fd}): one of the two would be ignored, so neither call accepts the other
     */
    public Command redirectErrorStream(boolean merge) {
        if (merge && fds.containsKey(2)) {
            throw new IllegalStateException("fd 2 is placed: it cannot be merged into fd 1 (redirectErrorStream) too");
        }
        redirectErrorStream = merge;
        return this;
    }

    /**
     * Sets one variable in the child's environment. The first call starts it from the environment
     * the JVM started with (what {@link System#getenv()} shows), as
     * {@link ProcessBuilder#environment()} does, and as that does, passes each variable it was not
     * asked to set with its bytes as they were, not decoded in the locale's charset and encoded
     * again; without this or {@link #environment} the child gets the process's environment as it is
     * at the spawn.
     */
    public Command env(String name, String value) {
        checkVariable(name, value);
        if (environment == null) {
            environment = new TreeMap<>();
            withStartupEnvironment = true;
        }
        environment.put(name, value);
        return this;
    }

    private static void checkVariable(String name, String value) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
        if (name.isEmpty() || name.indexOf('=') >= 0 || name.indexOf('\0') >= 0 || value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("bad environment variable: " + name.replace('\0', '?'));
        }
    }

    /** Replaces the child's whole environment; a bad variable is refused with nothing changed. */
    public Command environment(Map<String, String> variables) {
        TreeMap<String, String> all = new TreeMap<>();
        variables.forEach((name, value) -> {
            checkVariable(name, value);
            all.put(name, value);
        });
        environment = all;
        withStartupEnvironment = false;
        return this;
    }

    /**
     * The child's working directory (the JVM's by default). An empty path ({@code Path.of("")}) is,
     * as everywhere in Java, the current directory.
     */
    public Command directory(Path dir) {
        Objects.requireNonNull(dir, "dir");
        // chdir("") is ENOENT, which the spawn would report as the program missing
        this.directory = dir.toString().isEmpty() ? Path.of(".") : dir;
        return this;
    }

    /**
     * Spawns the child.
     *
     * @throws java.nio.file.NoSuchFileException if the program is not found (ENOENT), or is a
     *     script whose #! interpreter is missing (then, for a program given as a path, with a slash,
     *     the exception names the interpreter after the program; one found on PATH is named alone),
     *     or the {@link #directory} does not exist (then the exception names chdir and the directory)
     * @throws java.nio.file.AccessDeniedException if it is not executable (EACCES)
     * @throws io.ipcbridge.ErrnoException ENOEXEC if it is in no format the kernel runs, such as a
     *     script without a #! line, which is not run with /bin/sh as execvp(3) and ProcessBuilder run it
     * @throws ClosedChannelException if a placed descriptor is closed
     * @throws IllegalArgumentException if a target fd is not below the soft RLIMIT_NOFILE (or that
     *     limit is so low that the spawn has no room to stage the placed descriptors), before the spawn
     */
    public ChildProcess start() throws IOException {
        return start(fds);
    }

    /** Spawns with {@code stdin} and {@code stdout} placed on fds 0 and 1 on top of this command's own. */
    ChildProcess start(Descriptor stdin, Descriptor stdout) throws IOException {
        TreeMap<Integer, Descriptor> all = new TreeMap<>(fds);
        all.put(0, stdin);
        all.put(1, stdout);
        return start(all);
    }

    private ChildProcess start(TreeMap<Integer, Descriptor> fds) throws IOException {
        int n = fds.size();
        int[] targets = new int[n];
        int[] sources = new int[n];
        int i = 0;
        List<Descriptor> held = new ArrayList<>(n);
        for (Map.Entry<Integer, Descriptor> e : fds.entrySet()) {
            targets[i] = e.getKey();
            sources[i++] = e.getValue().fd();
            held.add(e.getValue());
        }
        checkLimit(targets, sources);
        int pid = spawnHolding(held, 0, targets, sources, environment == null ? null : environmentEntries());
        return ChildProcess.adopt(pid, argv.get(0));
    }

    /**
     * The child's "NAME=value" entries: those set, in UTF-8, and with {@link #env} the startup
     * ones it does not set, byte for byte (compared as ISO-8859-1, which maps each byte to a char).
     */
    private List<byte[]> environmentEntries() {
        List<byte[]> entries = new ArrayList<>();
        if (withStartupEnvironment) {
            Set<String> set = new HashSet<>();
            for (String name : environment.keySet()) {
                set.add(new String(name.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1));
            }
            for (byte[] entry : Syscalls.environment()) {
                String text = new String(entry, StandardCharsets.ISO_8859_1);
                int eq = text.indexOf('=');
                if (eq > 0 && !set.contains(text.substring(0, eq))) { // as the JDK, none without a name
                    entries.add(entry);
                }
            }
        }
        environment.forEach((name, value) -> entries.add((name + "=" + value).getBytes(StandardCharsets.UTF_8)));
        return entries;
    }

    /**
     * Refuses, before the spawn, a placement posix_spawn would refuse with EBADF: a number at or above
     * the soft RLIMIT_NOFILE. The spawn stages each placed descriptor on a low number (see
     * {@link Syscalls#stagingFds}), which must stay below the limit too.
     */
    private static void checkLimit(int[] targets, int[] sources) throws IOException {
        if (targets.length == 0) {
            return;
        }
        long limit = Syscalls.openFilesLimit();
        int maxTarget = targets[targets.length - 1]; // in order, from the TreeMap
        if (maxTarget >= limit) {
            throw new IllegalArgumentException("fd " + maxTarget + " is not below RLIMIT_NOFILE, the soft limit on"
                    + " open descriptors (" + limit + "), so no process can have it");
        }
        int[] staging = Syscalls.stagingFds(targets, sources);
        int top = staging[staging.length - 1];
        if (top >= limit) {
            throw new IllegalArgumentException("RLIMIT_NOFILE, the soft limit on open descriptors (" + limit
                    + "), is too low: placing " + targets.length + " descriptor(s) stages them on fds " + staging[0]
                    + " to " + top + ", which must be below it");
        }
    }

    /** Spawns while holding every placed descriptor open, so none can be closed and reused meanwhile. */
    private int spawnHolding(List<Descriptor> held, int index, int[] targets, int[] sources, List<byte[]> env)
            throws IOException {
        if (index == held.size()) {
            return Syscalls.spawn(argv, env, directory == null ? null : directory.toString(), targets, sources,
                    redirectErrorStream);
        }
        return held.get(index).withFd(fd -> spawnHolding(held, index + 1, targets, sources, env));
    }

    @Override
    public String toString() {
        return String.join(" ", argv);
    }
}
