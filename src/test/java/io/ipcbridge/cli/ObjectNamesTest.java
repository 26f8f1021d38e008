package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import java.nio.file.NoSuchFileException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The NAME converters (CLI.md "Names", RELIABILITY.md §2.2, MQ-04, SEM-04, SHM-16) refuse exactly
 * what the library refuses with IllegalArgumentException, so that an invalid name is a usage error
 * (exit 2) and never reaches the library as exit 1.
 */
class ObjectNamesTest {
    static Stream<String> names() {
        String pid = Long.toString(ProcessHandle.current().pid());
        return Stream.of("noslash-" + pid, "/ok-" + pid, "/a.b_c-" + pid, "", "/", "/a/b", "//x", "a/b", "/.", "/..",
                "/..." + pid, "/sem.x" + pid, "sem.y" + pid, "/a b", "/a\0b", "/é", "/\u00e9t\u00e9", "/a\n",
                "/" + "m".repeat(251), "/" + "m".repeat(252), "/" + "m".repeat(255), "/" + "m".repeat(256),
                "/x$y", "/tab\t", "/@");
    }

    @ParameterizedTest(name = "\"{0}\"")
    @MethodSource("names")
    void convertersAgreeWithTheLibrary(String name) throws Exception {
        agree(new ObjectNames.Queue(), name, () -> MessageQueue.open(name, MessageQueue.Access.READ).close());
        agree(new ObjectNames.Segment(), name, () -> SharedMemory.open(name, true).close());
        agree(new ObjectNames.Sem(), name, () -> Semaphore.open(name).close());
    }

    /** Opening a name that is valid but (with the pid in it) missing: NoSuchFileException, else IAE. */
    private static void agree(ITypeConverter<String> converter, String name, Open open) throws Exception {
        boolean libraryRefuses;
        try {
            open.run();
            throw new AssertionError("no object should exist by the name " + name);
        } catch (IllegalArgumentException refused) {
            libraryRefuses = true;
        } catch (NoSuchFileException missing) {
            libraryRefuses = false;
        }
        boolean cliRefuses;
        try {
            String canonical = converter.convert(name);
            assertTrue(canonical.startsWith("/") && canonical.endsWith(name.startsWith("/") ? name.substring(1) : name));
            cliRefuses = false;
        } catch (TypeConversionException refused) {
            cliRefuses = true;
        }
        assertEquals(libraryRefuses, cliRefuses, () -> converter.getClass().getSimpleName() + " and the library on \""
                + name + "\"");
    }

    @FunctionalInterface
    private interface Open {
        void run() throws Exception;
    }

    @Test
    void theLeadingSlashIsAdded() throws Exception {
        assertEquals("/orders", new ObjectNames.Queue().convert("orders"));
        assertEquals("/orders", new ObjectNames.Queue().convert("/orders"));
    }

    @Test
    void anEmptyNameIsAUsageErrorForEveryCommand() {
        for (String kind : new String[] {"mq", "shm", "sem"}) {
            Cli.Result r = Cli.run(kind, "rm", "");
            assertEquals(2, r.status(), r::toString);
            assertTrue(r.err().contains("'' is not a valid name: it is empty"), r::toString);
        }
        assertThrows(TypeConversionException.class, () -> new ObjectNames.Segment().convert("/sem.x"));
    }
}
