package io.ipcbridge.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ipcbridge.testing.Peers;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RingLayout against the C compiler: ipcbridge_ring.h's offsetof values, as ring_peer prints them. */
class RingLayoutTest {
    @TempDir
    Path dir;

    @Test
    void everyFieldHasTheSameNameOffsetAndOrderAsInTheCHeader() throws Exception {
        Map<String, String> c = new LinkedHashMap<>();
        for (String line : Peers.run(dir.resolve("err"), "ring_peer", "offsets").split("\n")) {
            String[] kv = line.trim().split("\\s+");
            c.put(kv[0], kv[1]);
        }
        List<String> cFields = new ArrayList<>();
        for (String key : c.keySet()) {
            if (!key.startsWith("sizeof_") && !key.startsWith("IPCB_RING_")) {
                cFields.add(key);
            }
        }
        List<String> javaFields = new ArrayList<>();
        for (RingLayout.Field f : RingLayout.Field.values()) {
            javaFields.add(f.cName());
            assertEquals(c.get(f.cName()), Integer.toString(f.offset), f.cName());
        }
        assertEquals(cFields, javaFields, "the same fields in the same order");
        assertEquals(Integer.toString(RingLayout.HEADER_SIZE), c.get("sizeof_header"));
        assertEquals(Integer.toString(RingLayout.RECORD_HEADER), c.get("sizeof_record"));
        assertEquals(Long.toUnsignedString(RingLayout.MAGIC, 16), c.get("IPCB_RING_MAGIC").replaceFirst("^0x", ""));
        assertEquals(Integer.toString(RingLayout.VERSION), c.get("IPCB_RING_VERSION"));
        assertEquals(Integer.toString(RingLayout.HEADER_SIZE), c.get("IPCB_RING_HEADER_SIZE"));
        assertEquals(Integer.toString(RingLayout.MIN_CAPACITY), c.get("IPCB_RING_MIN_CAPACITY"));
        assertEquals(Integer.toString(RingLayout.MAX_CAPACITY), c.get("IPCB_RING_MAX_CAPACITY"));
        assertEquals(Integer.toString(RingLayout.MAX_PRODUCERS), c.get("IPCB_RING_MAX_PRODUCERS"));
        assertEquals(Integer.toString(RingLayout.MESSAGE), c.get("IPCB_RING_MESSAGE"));
        assertEquals(Integer.toString(RingLayout.PADDING), c.get("IPCB_RING_PADDING"));
        assertEquals(Integer.toString(RingLayout.ABANDONED), c.get("IPCB_RING_ABANDONED"));
    }
}
