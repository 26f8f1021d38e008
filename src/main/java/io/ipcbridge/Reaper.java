package io.ipcbridge;

import io.ipcbridge.internal.posix.Names;
import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * Names that record the process that made them, and the reaper that removes the objects of
 * creators that died without unlinking them (RELIABILITY.md SHM-15, SEC-14).
 *
 * <p>POSIX names outlive their creator: a process killed before its {@code unlink} leaves its
 * shared memory, semaphores, rings and queues in /dev/shm and /dev/mqueue until the next boot, and
 * a crash loop fills them. A name from {@link #name(String, String)} carries its creator:
 * {@code /PREFIX.PID.START.PIDNS.LABEL}, with the pid, the process's start time in clock ticks
 * since boot (field 22 of {@code /proc/PID/stat}, which tells a reused pid apart) and the inode of
 * its pid namespace ({@code /proc/PID/ns/pid}). C programs build the same name with
 * {@code ipcb_owner_name()} of {@code native-tests/include/ipcb_owner.h}; Python or a shell can too.
 * {@link #reap(String)} then removes every object of the prefix whose creator is gone: no
 * {@code /proc/PID}, another start time, or a zombie (every thread ended: a process whose main
 * thread called pthread_exit shows "Z" while its other threads run, and is not gone). Like
 * CPython's resource tracker, it removes names only: a process that still has the object open
 * keeps using it.
 *
 * <p>The reaper judges only what it can see. An object of another user, or whose creator is in
 * another pid namespace (another container sharing /dev/shm), or whose creator's {@code /proc}
 * entry it may not read (hidepid) while kill(2) finds the process, or in another time namespace
 * (whose start times /proc shifts) when the start time differs, is left alone. Queues are
 * reaped where the mqueue filesystem is mounted at /dev/mqueue (listing them needs it).
 */
public final class Reaper {
    private static final Path DEV_SHM = Path.of("/dev/shm");
    private static final Path DEV_MQUEUE = Path.of("/dev/mqueue");
    private static final String SEM_FILE = "sem.";
    /** The longest name body every mechanism takes: a semaphore's, NAME_MAX less the "sem." glibc adds. */
    private static final int LONGEST = Names.NAME_MAX - SEM_FILE.length();

    /** This process, as its names record it; read once. */
    private static volatile Owner self;

    /**
     * One object {@link #reap(String)} removed.
     *
     * @param type "shm" (a segment or a ring), "sem" or "mq", as {@code ipcbridge ls} names them
     * @param name the object's name, with its leading slash
     * @param pid the creator that is gone
     */
    public record Removed(String type, String name, int pid) {
    }

    /**
     * Thrown by {@link #reap(String)} when some objects of gone creators could not be removed, or a
     * directory could not be listed: the reap went on with the others, which {@link #removed()}
     * lists. The first failure (naming its call, object and errno) is the cause and leads the
     * message; the others are suppressed.
     */
    public static final class IncompleteReapException extends IOException {
        private static final long serialVersionUID = 1L;
        private final transient List<Removed> removed;

        IncompleteReapException(List<Removed> removed, List<IOException> failures, int objects) {
            super(failures.get(0).getMessage() + " (" + (objects == 0 ? ""
                    : objects + (objects == 1 ? " object" : " objects") + " not removed, ")
                    + removed.size() + " removed)", failures.get(0));
            this.removed = List.copyOf(removed);
            failures.stream().skip(1).forEach(this::addSuppressed);
        }

        /** The objects that were removed all the same. */
        public List<Removed> removed() {
            return removed;
        }
    }

    private record Owner(long pid, long start, long pidNamespace) {
    }

    private Reaper() {
    }

    /**
     * A name for an object this process creates: {@code /PREFIX.PID.START.PIDNS.LABEL}.
     *
     * @param prefix the application's prefix, with or without its leading slash
     * @param label what tells this process's objects apart
     * @throws IllegalArgumentException if the prefix or the label break the name rules (letters,
     *     digits, '.', '_' and '-'), a part of the prefix between dots is digits only (it would read
     *     as another prefix's pid), or the name is longer than 251 bytes (a semaphore's limit, so
     *     that every mechanism takes it)
     * @throws IOException if /proc does not tell this process's start time or pid namespace, or is
     *     another pid namespace's
     */
    public static String name(String prefix, String label) throws IOException {
        String p = checkPrefix(prefix);
        Objects.requireNonNull(label, "label");
        Names.check(label, Names.NAME_MAX);
        if (label.startsWith("/")) {
            throw new IllegalArgumentException("invalid label \"" + label + "\": it follows the prefix, no slash");
        }
        Owner me = self();
        return Names.check(p + "." + me.pid + "." + me.start + "." + me.pidNamespace + "." + label, LONGEST);
    }

    /**
     * Removes the shared memory segments, rings, semaphores and message queues of {@code prefix}
     * whose creator is gone, and says which.
     *
     * @param prefix the prefix given to {@link #name(String, String)}
     * @throws IllegalArgumentException if the prefix breaks the name rules or a part of it between
     *     dots is digits only
     * @throws IncompleteReapException if an object could not be judged or removed (an unlink that
     *     fails for a reason other than the object being gone already, as after another reaper), or
     *     a directory could not be listed: the reap went on with the others, and the exception lists
     *     what it removed
     * @throws IOException if /proc is another pid namespace's, or a directory cannot be listed and
     *     nothing was removed or failed to be (the listing's exception)
     */
    public static List<Removed> reap(String prefix) throws IOException {
        String p = checkPrefix(prefix).substring(1) + ".";
        Owner me = self();
        int euid = Syscalls.geteuid();
        long timeNs = timeNamespace(Path.of("/proc/self"));
        List<Removed> removed = new ArrayList<>();
        List<IOException> failures = new ArrayList<>();
        int unlisted = 0; // directories among the failures
        List<Path> shm = files(DEV_SHM, failures);
        unlisted += shm == null ? 1 : 0;
        for (Path file : shm == null ? List.<Path>of() : shm) {
            String f = file.getFileName().toString();
            boolean sem = f.startsWith(SEM_FILE);
            String name = "/" + (sem ? f.substring(SEM_FILE.length()) : f);
            reap(sem ? "sem" : "shm", name, file, p, me, euid, timeNs, removed, failures);
        }
        List<Path> mq;
        try {
            mq = Syscalls.mqueueMounted(DEV_MQUEUE) ? files(DEV_MQUEUE, failures) : List.of();
        } catch (IOException e) {
            failures.add(e);
            mq = null;
        }
        unlisted += mq == null ? 1 : 0;
        for (Path file : mq == null ? List.<Path>of() : mq) {
            reap("mq", "/" + file.getFileName(), file, p, me, euid, timeNs, removed, failures);
        }
        if (!failures.isEmpty() && removed.isEmpty() && failures.size() == unlisted) {
            // nothing removed, no object judged: the listing's own exception, as it is
            IOException first = failures.get(0);
            failures.stream().skip(1).forEach(first::addSuppressed);
            throw first;
        }
        if (!failures.isEmpty()) {
            throw new IncompleteReapException(removed, failures, failures.size() - unlisted);
        }
        return removed;
    }

    /**
     * Unlinks the object if its creator is gone; one already gone (another reaper) is skipped, and a
     * failure is kept for the end, so that one object that cannot be removed stops no other.
     */
    private static void reap(String type, String name, Path file, String prefix, Owner me, int euid, long timeNs,
            List<Removed> removed, List<IOException> failures) {
        try {
            Owner owner = deadOwner(name, prefix, me, file, euid, timeNs);
            if (owner == null) {
                return;
            }
            // the file judged is the one removed: mq_unlink(3) would remove from this process's IPC
            // namespace, which need not be the one mounted at /dev/mqueue (unshare --ipc, a container)
            Syscalls.unlink(file.toString(), type + "_unlink", name);
            removed.add(new Removed(type, name, (int) owner.pid));
        } catch (NoSuchFileException e) {
            // another reaper came first
        } catch (IOException e) {
            failures.add(e);
        }
    }

    private static String checkPrefix(String prefix) {
        String p = Names.check(Objects.requireNonNull(prefix, "prefix"), Names.NAME_MAX);
        for (String part : p.substring(1).split("\\.", -1)) {
            if (!part.isEmpty() && part.chars().allMatch(c -> c >= '0' && c <= '9')) {
                // "app.1" would read the names of "app" made by pid 1, and "app" those of "app.1"
                throw new IllegalArgumentException("invalid prefix \"" + prefix + "\": a part of digits only (\""
                        + part + "\") would read as the pid of another prefix's names");
            }
        }
        return p;
    }

    /**
     * Whether {@code name} keeps the name rules, as every name {@link #name} gives does: one with a
     * newline or a tab is not one of them, and would break the lines {@code ipcbridge reap} prints.
     */
    private static boolean validName(String name) {
        try {
            Names.check(name, Names.NAME_MAX);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * The decimal number {@code text} as {@link #name} writes it (digits, no leading zero), or -1;
     * also -1 past {@code max}, 19 digits included (a name anyone may put in /dev/shm is no reason to
     * throw).
     */
    private static long number(String text, long max) {
        if (text.isEmpty() || text.length() > 19 || text.length() > 1 && text.charAt(0) == '0'
                || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return -1;
        }
        try {
            long n = Long.parseLong(text);
            return n <= max ? n : -1;
        } catch (NumberFormatException pastALong) {
            return -1;
        }
    }

    /** The owner recorded in {@code name} when it is one of the prefix's, of this user, and gone. */
    private static Owner deadOwner(String name, String prefix, Owner me, Path file, int euid, long timeNs)
            throws IOException {
        if (!name.startsWith(prefix, 1) || !validName(name)) {
            return null;
        }
        String[] parts = name.substring(1 + prefix.length()).split("\\.", 4);
        if (parts.length < 4 || parts[3].isEmpty()) {
            return null;
        }
        Owner owner = new Owner(number(parts[0], Integer.MAX_VALUE), number(parts[1], Long.MAX_VALUE),
                number(parts[2], Long.MAX_VALUE));
        if (owner.pid < 0 || owner.start < 0 || owner.pidNamespace < 0) {
            return null; // not a name of this form: a pid_t, a start time and an inode, as name() writes them
        }
        if (owner.pidNamespace != me.pidNamespace || owner.pid <= 0) {
            return null; // a creator in another pid namespace: its pid means nothing here
        }
        try {
            if (((Number) Files.getAttribute(file, "unix:uid", LinkOption.NOFOLLOW_LINKS)).intValue() != euid) {
                return null;
            }
        } catch (NoSuchFileException e) {
            return null;
        }
        return alive(owner, timeNs) ? null : owner;
    }

    /** Whether the process the owner names still runs: same pid, same start time, not a zombie. */
    private static boolean alive(Owner owner, long timeNs) throws IOException {
        String[] stat;
        try {
            stat = stat(Path.of("/proc", Long.toString(owner.pid), "stat"));
        } catch (IOException e) {
            // ENOENT: gone, or hidden (hidepid=invisible hides a process of another user, and a
            // non-dumpable one of this user); EACCES or EPERM (hidepid=noaccess); ESRCH: it ended
            // while read. kill(2) tells which: a process it finds cannot be judged, so it is left alone.
            return exists(owner.pid);
        }
        if (stat == null) {
            return exists(owner.pid);
        }
        if (Long.parseLong(stat[19]) != owner.start) {
            // the pid was reused, unless the process is in another time namespace: /proc shifts a start
            // time by the reader's boot time offset, so its creator recorded another one (cannot judge)
            long its = timeNamespace(Path.of("/proc", Long.toString(owner.pid)));
            return its != timeNs && its != 0;
        }
        return !ended(stat) || anyThreadRuns(owner.pid);
    }

    /** The inode of the time namespace of {@code /proc/PID}; 0 if unknown (no time namespaces, no access). */
    private static long timeNamespace(Path proc) {
        try {
            return ((Number) Files.getAttribute(proc.resolve("ns/time"), "unix:ino")).longValue();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** Whether a process {@code pid} exists, seen by kill(2), which /proc's hidepid does not hide. */
    private static boolean exists(long pid) {
        return pid <= Integer.MAX_VALUE && Syscalls.processExists((int) pid);
    }

    private static boolean ended(String[] stat) {
        return stat[0].equals("Z") || stat[0].equals("X");
    }

    /**
     * Whether a thread of process {@code pid} still runs. Its stat shows the leader's state, "Z" as
     * soon as the main thread has ended (pthread_exit) while the others run on; a zombie process has
     * no thread left that has not ended.
     */
    private static boolean anyThreadRuns(long pid) throws IOException {
        List<Path> tasks;
        try (Stream<Path> entries = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            tasks = entries.toList();
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException | UncheckedIOException e) {
            return exists(pid); // cannot tell: left alone while it exists
        }
        for (Path task : tasks) {
            try {
                String[] stat = stat(task.resolve("stat"));
                if (stat != null && !ended(stat)) {
                    return true;
                }
            } catch (NoSuchFileException e) {
                // that thread has ended
            } catch (IOException e) {
                return true; // cannot tell: left alone this time
            }
        }
        return false;
    }

    /** The fields of a /proc/PID/stat after the command name, from the state (field 3) on. */
    private static String[] stat(Path path) throws IOException {
        String text = new String(Files.readAllBytes(path), StandardCharsets.US_ASCII);
        int end = text.lastIndexOf(')');
        if (end < 0) {
            return null;
        }
        String[] fields = text.substring(end + 1).trim().split(" ");
        return fields.length > 19 ? fields : null;
    }

    private static Owner self() throws IOException {
        Owner me = self;
        if (me == null) {
            // /proc of another pid namespace (unshare --pid --fork without --mount-proc) shows other
            // processes under this namespace's pids: /proc/1 would be the host's init, not this JVM
            long pid = ProcessHandle.current().pid();
            String proc = Files.readSymbolicLink(Path.of("/proc/self")).toString();
            if (!proc.equals(Long.toString(pid))) {
                throw new IOException("/proc is not this pid namespace's (/proc/self is " + proc + ", getpid() "
                        + pid + "): it cannot tell which creators run");
            }
            String[] stat = stat(Path.of("/proc/self/stat"));
            if (stat == null) {
                throw new IOException("/proc/self/stat: no start time in it");
            }
            long ns = ((Number) Files.getAttribute(Path.of("/proc/self/ns/pid"), "unix:ino")).longValue();
            me = new Owner(pid, Long.parseLong(stat[19]), ns);
            self = me;
        }
        return me;
    }

    /**
     * The regular files of {@code dir}, none when it does not exist; null when it cannot be listed,
     * the failure added to {@code failures} (the reap goes on, and says what it removed all the same).
     */
    private static List<Path> files(Path dir, List<IOException> failures) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList();
        } catch (IOException e) {
            failures.add(Syscalls.explainDirectory(dir.toString(), e));
        } catch (UncheckedIOException e) {
            failures.add(Syscalls.explainDirectory(dir.toString(), e.getCause()));
        }
        return null;
    }
}
