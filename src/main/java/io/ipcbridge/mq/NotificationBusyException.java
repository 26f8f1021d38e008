package io.ipcbridge.mq;

import io.ipcbridge.ErrnoException;

/** EBUSY from mq_notify(3): a process (this one included) is registered for the queue's notification. */
public class NotificationBusyException extends ErrnoException {
    private static final long serialVersionUID = 1L;

    /** Queue {@code name} has a registration already. */
    NotificationBusyException(String name) {
        super("mq_notify", name, 16, "another registration holds the queue's notification");
    }
}
