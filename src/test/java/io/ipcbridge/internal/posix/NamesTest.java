package io.ipcbridge.internal.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** {@link Names#check}, which every mechanism (mq, sem, shm) calls before its first system call. */
class NamesTest {
    @Test
    void aNullNameIsANullPointerExceptionNamingIt() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> Names.check(null, Names.NAME_MAX));
        assertEquals("name", e.getMessage());
    }
}
