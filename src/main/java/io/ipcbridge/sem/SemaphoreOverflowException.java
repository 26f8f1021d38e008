package io.ipcbridge.sem;

import io.ipcbridge.ErrnoException;

/** EOVERFLOW from sem_post(3): the value is at SEM_VALUE_MAX; it is unchanged. */
public class SemaphoreOverflowException extends ErrnoException {
    private static final long serialVersionUID = 1L;

    /** A release of semaphore {@code name} that would pass SEM_VALUE_MAX; {@code detail} says how far it got. */
    SemaphoreOverflowException(String name, String detail) {
        super("sem_post", name, 75, detail);
    }
}
