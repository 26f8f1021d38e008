package io.ipcbridge.testing;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** The IPC object names a test used, unlinked after it whatever happened (an unlink that finds nothing is fine). */
public final class Created {
    /** How a kind of object is unlinked. */
    @FunctionalInterface
    public interface Unlink {
        /** Removes {@code name}. */
        void unlink(String name) throws IOException;
    }

    private final String prefix;
    private final Unlink unlink;
    private final List<String> names = new ArrayList<>();

    public Created(String prefix, Unlink unlink) {
        this.prefix = prefix;
        this.unlink = unlink;
    }

    /** A fresh unique name, remembered for {@link #unlinkAll()}. */
    public String name() {
        return add(Names.unique(prefix));
    }

    /** Remembers {@code name} for {@link #unlinkAll()}. */
    public String add(String name) {
        names.add(name);
        return name;
    }

    /** Unlinks every remembered name that still exists. */
    public void unlinkAll() {
        for (String n : names) {
            try {
                unlink.unlink(n);
            } catch (IOException gone) {
                // unlinked by the test itself
            }
        }
    }
}
