package io.ipcbridge.shm;

import java.lang.ref.WeakReference;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The size of each object mapped in this JVM, one counter per file shared by all its handles, so
 * that a resize through one handle is known to every other before an access the JDK does not
 * guard against a shrunk object (a compare-and-set). A counter lives while a handle holds it.
 */
final class Extents {
    private static final Map<Object, WeakReference<AtomicLong>> SIZES = new HashMap<>();
    private static int purgeAt = 64;

    private Extents() {
    }

    /** The counter of the file with {@code key} (its fileKey), set to {@code size} as fstat just read it. */
    static synchronized AtomicLong of(Object key, long size) {
        WeakReference<AtomicLong> ref = SIZES.get(key);
        AtomicLong extent = ref == null ? null : ref.get();
        if (extent == null) {
            extent = new AtomicLong();
            SIZES.put(key, new WeakReference<>(extent));
            if (SIZES.size() >= purgeAt) {
                SIZES.values().removeIf(r -> r.get() == null);
                purgeAt = Math.max(64, 2 * SIZES.size());
            }
        }
        extent.set(size);
        return extent;
    }
}
