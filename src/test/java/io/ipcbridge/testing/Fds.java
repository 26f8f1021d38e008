package io.ipcbridge.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/** Counts this process's open descriptors through /proc/self/fd, for leak checks. */
public final class Fds {
    private Fds() {
    }

    /** The open descriptor numbers (the listing's own descriptor excluded). */
    public static Set<Integer> open() {
        try (Stream<Path> entries = Files.list(Path.of("/proc/self/fd"))) {
            Set<Integer> fds = new TreeSet<>();
            entries.forEach(p -> {
                if (Files.exists(p)) {
                    fds.add(Integer.parseInt(p.getFileName().toString()));
                }
            });
            return fds;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** How many descriptors are open. */
    public static int count() {
        return open().size();
    }
}
