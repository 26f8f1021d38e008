package io.ipcbridge.cli;

import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.ring.Ring;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ipcbridge ls [--type shm|sem|mq|ring] [--json]}: the POSIX IPC objects of this host. Shared
 * memory, semaphores and rings are the files of /dev/shm (glibc keeps semaphore NAME as sem.NAME
 * there; a ring is a segment that {@link Ring#open} accepts, and is listed as a ring only), message
 * queues come from {@link MessageQueue#list()}. Attributes are read with the JDK (stat of the file,
 * never following a link); a semaphore's value, a queue's message count and a ring's capacity need
 * the object opened, and show "-" (null in JSON) when it cannot be.
 */
@Command(name = "ls", mixinStandardHelpOptions = true, version = Main.VERSION,
        description = {"Lists the POSIX IPC objects on this host: shared memory segments (files in /dev/shm), "
                + "named semaphores (/dev/shm/sem.NAME), message queues (/dev/mqueue) and message rings "
                + "(segments holding an ipcbridge ring header).",
            "One object per line, tab-separated: TYPE NAME SIZE-OR-VALUE MODE OWNER, where SIZE-OR-VALUE is "
                + "a segment's size in bytes, a semaphore's value, how many messages a queue holds, or a "
                + "ring's capacity; it is \"-\" for an object that cannot be opened. MODE is octal (0600), "
                + "OWNER a user name (or uid). A backslash, tab, newline or other control character in a "
                + "name is written \\\\, \\t, \\n, \\r or \\xHH, so that each object stays one line.",
            "A ring is listed once, as type ring: --type shm leaves rings out (shm info and shm read still "
                + "work on them). A ring this user cannot read is listed as shm.",
            "--json: one array of objects with the keys type, name, size (shm), value (sem), "
                + "current-messages, max-messages, message-size (mq), capacity, max-message (ring), mode, "
                + "owner, uid, gid.",
            "When /dev/mqueue is not mounted, one note on stderr says how to mount it; the rest is "
                + "listed and the exit status is 0."})
final class LsCommand implements Callable<Integer> {
    private static final Path DEV_SHM = Path.of("/dev/shm");
    private static final Path DEV_MQUEUE = Path.of("/dev/mqueue");
    private static final String SEM_PREFIX = "sem.";
    private static final String MOUNT_MQUEUE = "mount -t mqueue none /dev/mqueue";

    /** The kinds of object, in the order they are listed. */
    enum Type { shm, sem, mq, ring }

    @Spec
    CommandSpec spec;

    @Option(names = "--type", paramLabel = "TYPE", description = "Only this type: ${COMPLETION-CANDIDATES}.")
    Type type;

    @Option(names = "--json", description = "One JSON array of objects on one line.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        List<Map<String, Object>> objects = new ArrayList<>();
        if (wanted(Type.shm) || wanted(Type.sem) || wanted(Type.ring)) {
            for (Path p : devShmFiles()) {
                String file = p.getFileName().toString();
                boolean sem = file.startsWith(SEM_PREFIX);
                if (sem) {
                    if (wanted(Type.sem)) {
                        addFile(objects, Type.sem, "/" + file.substring(SEM_PREFIX.length()), p, LsCommand::semValue);
                    }
                    continue;
                }
                String name = "/" + file;
                Map<String, Object> ring = wanted(Type.shm) || wanted(Type.ring) ? ringAttributes(name) : null;
                if (ring != null && wanted(Type.ring)) {
                    addFile(objects, Type.ring, name, p, n -> ring);
                } else if (ring == null && wanted(Type.shm)) {
                    addFile(objects, Type.shm, name, p, null);
                }
            }
        }
        if (wanted(Type.mq)) {
            for (String name : queues()) {
                addFile(objects, Type.mq, name, DEV_MQUEUE.resolve(name.substring(1)), LsCommand::queueAttributes);
            }
        }
        objects.sort(Comparator.comparing((Map<String, Object> o) -> Type.valueOf((String) o.get("type")))
                .thenComparing(o -> (String) o.get("name")));
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.array(objects));
        } else {
            for (Map<String, Object> o : objects) {
                Object sizeOrValue = o.get(switch (Type.valueOf((String) o.get("type"))) {
                    case shm -> "size";
                    case sem -> "value";
                    case mq -> "current-messages";
                    case ring -> "capacity";
                });
                out.println(String.join("\t", (String) o.get("type"), field((String) o.get("name")),
                        sizeOrValue == null ? "-" : sizeOrValue.toString(), (String) o.get("mode"),
                        field((String) o.get("owner"))));
            }
        }
        out.flush();
        return ExitCodes.OK;
    }

    /**
     * {@code text} as one column of a line: a backslash, a tab, a newline or another control character
     * (any user may put them in a name in /dev/shm or /dev/mqueue) written as {@code \\}, {@code \t},
     * {@code \n}, {@code \r} or {@code \xHH}, so that one object stays one line of five columns.
     */
    static String field(String text) {
        StringBuilder b = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            String escaped = switch (c) {
                case '\\' -> "\\\\";
                case '\t' -> "\\t";
                case '\n' -> "\\n";
                case '\r' -> "\\r";
                default -> c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : null;
            };
            if (escaped != null && b == null) {
                b = new StringBuilder(text.length() + 8).append(text, 0, i);
            }
            if (b != null) {
                b.append(escaped != null ? escaped : String.valueOf(c));
            }
        }
        return b == null ? text : b.toString();
    }

    private boolean wanted(Type t) {
        return type == null || type == t;
    }

    /** The regular files of /dev/shm (not links, not directories); none when there is no /dev/shm. */
    private static List<Path> devShmFiles() throws IOException {
        List<Path> files = new ArrayList<>();
        if (!Files.isDirectory(DEV_SHM)) {
            return files;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(DEV_SHM)) {
            for (Path p : entries) {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    files.add(p);
                }
            }
        } catch (DirectoryIteratorException e) {
            throw e.getCause();
        }
        return files;
    }

    /**
     * The queues, or none with a note on stderr when the mqueue filesystem is not mounted (then
     * /dev/mqueue is missing, or is an empty directory of the filesystem below).
     */
    private List<String> queues() throws IOException {
        try {
            if (!Files.isDirectory(DEV_MQUEUE) || !"mqueue".equals(Files.getFileStore(DEV_MQUEUE).type())) {
                throw new NoSuchFileException(DEV_MQUEUE.toString(), null, "the mqueue filesystem is not mounted");
            }
            return MessageQueue.list();
        } catch (NoSuchFileException e) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("ipcbridge: note: " + DEV_MQUEUE + " is not an mqueue filesystem, so message queues are not "
                    + "listed (mount it: " + MOUNT_MQUEUE + ")");
            err.flush();
            return List.of();
        }
    }

    /**
     * Adds the object {@code name} of file {@code p} with its stat attributes and, from
     * {@code opened}, what opening it tells; an object gone meanwhile is left out.
     */
    private static void addFile(List<Map<String, Object>> objects, Type t, String name, Path p,
            Function<String, Map<String, Object>> opened) throws IOException {
        Map<String, Object> stat;
        try {
            stat = Files.readAttributes(p, "unix:size,mode,uid,gid,owner", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
            return;
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("type", t.name());
        o.put("name", name);
        if (t == Type.shm) {
            o.put("size", stat.get("size"));
        } else {
            o.putAll(opened.apply(name));
        }
        o.put("mode", Json.mode((Integer) stat.get("mode")));
        // uid_t and gid_t are unsigned: the JDK's int gives 3000000000 as -1294967296, also as the
        // owner's name when no user has that uid
        long uid = Integer.toUnsignedLong((Integer) stat.get("uid"));
        String owner = ((UserPrincipal) stat.get("owner")).getName();
        o.put("owner", owner.equals(Integer.toString((Integer) stat.get("uid"))) ? Long.toString(uid) : owner);
        o.put("uid", uid);
        o.put("gid", Integer.toUnsignedLong((Integer) stat.get("gid")));
        objects.add(o);
    }

    /** {@code value}: the semaphore's value, or null when it cannot be opened (not ours, not valid...). */
    private static Map<String, Object> semValue(String name) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("value", null);
        try (Semaphore s = Semaphore.open(name)) {
            v.put("value", s.value());
        } catch (IOException | RuntimeException unopenable) {
            // shown as "-"
        }
        return v;
    }

    /**
     * {@code capacity} and {@code max-message} of the ring {@code name}; null when it is not a ring, or
     * cannot be read (a ring the header of which cannot be read is listed as a segment).
     */
    private static Map<String, Object> ringAttributes(String name) {
        try (SharedMemory segment = SharedMemory.open(name, true)) { // read access is all it needs
            Ring.Info info = Ring.info(segment);
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("capacity", info.capacity());
            v.put("max-message", info.maxMessage());
            return v;
        } catch (IOException | RuntimeException notARing) {
            return null;
        }
    }

    /** The queue's message counts and size, null when it cannot be opened. */
    private static Map<String, Object> queueAttributes(String name) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("current-messages", null);
        v.put("max-messages", null);
        v.put("message-size", null);
        try (MessageQueue q = MessageQueue.open(name, MessageQueue.Access.READ, Integer.MAX_VALUE)) {
            MessageQueue.Attributes a = q.attributes();
            v.put("current-messages", a.currentMessages());
            v.put("max-messages", a.maxMessages());
            v.put("message-size", a.messageSize());
        } catch (IOException | RuntimeException unopenable) {
            // shown as "-"
        }
        return v;
    }
}
