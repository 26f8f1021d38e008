package io.ipcbridge.mq;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A message taken from a queue: its bytes and its priority.
 *
 * @param data the payload (may be empty)
 * @param priority 0 to {@link MessageQueue#PRIO_MAX} - 1; higher is delivered first
 */
public record Message(byte[] data, int priority) {
    /** The payload decoded as UTF-8. */
    public String text() {
        return new String(data, StandardCharsets.UTF_8);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Message m && m.priority == priority && Arrays.equals(m.data, data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(data) + priority;
    }

    @Override
    public String toString() {
        return "Message[" + data.length + " bytes, priority " + priority + "]";
    }
}
