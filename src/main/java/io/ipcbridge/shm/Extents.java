package io.ipcbridge.shm;

import io.ipcbridge.internal.posix.FileInfo;
import java.lang.ref.WeakReference;
import java.util.HashMap;
import java.util.List;
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

    /** The counter of the file fstat(2) just gave {@code info} of (its device and inode), set to its size. */
    static synchronized AtomicLong of(FileInfo info) {
        Object key = List.of(info.device(), info.inode());
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
        extent.set(info.size());
        return extent;
    }
}
