package io.ipcbridge.bench;

import io.ipcbridge.HasDescriptor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the mechanisms share to make their {@link Link}s: fresh names for named objects (removed
 * when the link closes, or by a shutdown hook if the benchmark is interrupted), links of Java
 * objects, and closing many things at once.
 */
final class Links {
    private static final AtomicInteger NEXT = new AtomicInteger();
    /** Names created and not removed yet, with their remover. */
    private static final Map<String, Remover> LEFTOVERS = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LEFTOVERS.keySet().forEach(Links::remove),
                "bench-cleanup"));
    }

    private Links() {
    }

    /** Removes a named object: unlinks the name. */
    @FunctionalInterface
    interface Remover {
        void remove(String name) throws IOException;
    }

    /** A fresh name {@code /ipcb-bench-<pid>-<n>-<tag>}, to be removed by {@code remover} when {@link #remove}d. */
    static String name(String tag, Remover remover) {
        String name = "/ipcb-bench-" + ProcessHandle.current().pid() + "-" + NEXT.incrementAndGet() + "-" + tag;
        LEFTOVERS.put(name, remover);
        return name;
    }

    /** Removes {@code name} if it is still there; quietly, as it may never have been created. */
    static void remove(String name) {
        Remover r = LEFTOVERS.remove(name);
        if (r != null) {
            try {
                r.remove(name);
            } catch (IOException e) {
                // never created (the creation failed), or removed already
            }
        }
    }

    /** An {@link AutoCloseable} that removes {@code names}. */
    static AutoCloseable removing(String... names) {
        return () -> {
            for (String n : names) {
                remove(n);
            }
        };
    }

    /** Closes each of {@code all} (nulls skipped), even when one fails; throws the first failure. */
    static void closeAll(AutoCloseable... all) throws IOException {
        IOException failure = null;
        for (int i = 0; i < all.length; i++) {
            try {
                if (all[i] != null) {
                    all[i].close();
                }
            } catch (Exception e) {
                if (failure == null) {
                    failure = e instanceof IOException io ? io : new IOException(e);
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** Makes the end of one role: may block, may fail. */
    @FunctionalInterface
    interface EndFactory {
        End open(Link.Role role) throws IOException;
    }

    /** Gives the endpoints of a child playing one role. */
    @FunctionalInterface
    interface PeerFactory {
        Link.PeerEnd peer(Link.Role role) throws IOException;
    }

    /** A link made of two factories; closing it closes {@code owned}, in order. */
    static Link of(EndFactory ends, PeerFactory peers, AutoCloseable... owned) {
        return new Link() {
            @Override
            public End end(Role role) throws IOException {
                return ends.open(role);
            }

            @Override
            public PeerEnd peer(Role role) throws IOException {
                return peers.peer(role);
            }

            @Override
            public void close() throws IOException {
                closeAll(owned);
            }
        };
    }

    /**
     * One direction of a channel of descriptors: who writes and how, who reads and how.
     *
     * @param writer the object written to (a pipe's sink, a socket)
     * @param send its send call
     * @param reader the object read from
     * @param receive its receive call
     */
    record Way(HasDescriptor writer, End.Sender send, HasDescriptor reader, End.Receiver receive) {
    }

    /**
     * A link over descriptors: {@code forward} carries the active side's data to the passive side,
     * {@code backward} (null for throughput) the echoes back; children get the descriptors as fd 3
     * (and 4), each spec prefixed by {@code prefix}. Closing it closes {@code owned}.
     */
    static Link of(String prefix, Way forward, Way backward, AutoCloseable... owned) {
        Way back = backward != null ? backward : new Way(null, null, null, null);
        return of(role -> role == Link.Role.ACTIVE
                ? End.of(forward.send(), back.receive(), closeable(forward.writer()), closeable(back.reader()))
                : End.of(back.send(), forward.receive(), closeable(forward.reader()), closeable(back.writer())),
                role -> role == Link.Role.ACTIVE ? fds(prefix, back.reader(), forward.writer())
                        : fds(prefix, forward.reader(), back.writer()), owned);
    }

    /** {@code h} as something to close: itself if it is closeable, else its descriptor; null for null. */
    static AutoCloseable closeable(HasDescriptor h) {
        return h == null ? null : h instanceof AutoCloseable c ? c : h.descriptor();
    }

    /**
     * The endpoints of a child whose receiving object is {@code in} and sending object
     * {@code out} (the same object for a socket; either null where the role does not use it): fd 3,
     * and fd 4 for a second object; {@code prefix} goes before each fd number ("conn:").
     */
    static Link.PeerEnd fds(String prefix, HasDescriptor in, HasDescriptor out) {
        Map<Integer, HasDescriptor> fds = new LinkedHashMap<>();
        List<String> specs = new ArrayList<>();
        for (HasDescriptor h : new HasDescriptor[] {in, out}) {
            if (h == null) {
                specs.add("-");
                continue;
            }
            int fd = fds.containsValue(h) ? 3 : 3 + fds.size();
            fds.putIfAbsent(fd, h);
            specs.add(prefix + fd);
        }
        return new Link.PeerEnd(specs.get(0), specs.get(1), fds);
    }
}
