package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.TypeConversionException;

/** The shared value syntaxes of CLI.md: durations, sizes and octal modes. */
class ConvertersTest {
    @ParameterizedTest(name = "{0} = {1} ns")
    @CsvSource({
        "250ms, 250000000",
        "2s, 2000000000",
        "1m, 60000000000",
        "1h, 3600000000000",
        "PT2S, 2000000000",
        "pt0.5s, 500000000",
        "0, 0",
        "0ms, 0",
        "0.2, 200000000",
        "1.5s, 1500000000",
        "750us, 750000",
        "10ns, 10",
    })
    void durationsParseTheDocumentedForms(String text, long nanos) {
        assertEquals(Duration.ofNanos(nanos), new Durations().convert(text));
    }

    @ParameterizedTest(name = "\"{0}\" is refused")
    @ValueSource(strings = {"", "abc", "-1s", "2x", "ms", "1.s", ".5s", "PT-2S", "-PT2S", "P", "2 s", "1e3ms",
        "99999999999999999999h"})
    void malformedDurationsAreRefused(String text) {
        assertThrows(TypeConversionException.class, () -> new Durations().convert(text));
    }

    @ParameterizedTest(name = "{0} ns prints as {1}")
    @CsvSource({"200000000, 200ms", "2000000000, 2s", "60000000000, 1m", "90000000000, 90s",
        "1500000000, 1500ms", "0, 0s", "3600000000000, 1h", "1500, 1500ns"})
    void durationsFormatInTheSameSyntax(long nanos, String text) {
        assertEquals(text, Durations.format(Duration.ofNanos(nanos)));
        assertEquals(Duration.ofNanos(nanos), Durations.parse(text), "what is printed parses back");
    }

    @ParameterizedTest(name = "{0} = {1} bytes")
    @CsvSource({"4096, 4096", "4k, 4096", "4K, 4096", "4KiB, 4096", "64KiB, 65536", "1m, 1048576",
        "1MiB, 1048576", "1g, 1073741824", "1GiB, 1073741824", "0, 0", "64mib, 67108864"})
    void sizesParseBinaryMultiples(String text, long bytes) {
        assertEquals(bytes, new Sizes().convert(text));
    }

    @ParameterizedTest(name = "\"{0}\" is refused")
    @ValueSource(strings = {"", "-1", "1.5m", "4kb", "4 KiB", "k", "0x10"})
    void malformedSizesAreRefused(String text) {
        assertThrows(TypeConversionException.class, () -> new Sizes().convert(text));
    }

    @ParameterizedTest(name = "{0} = octal {1}")
    @CsvSource({"0600, 600", "600, 600", "0, 0", "0777, 777", "00640, 640", "7, 7"})
    void modesAreOctal(String text, String octal) {
        assertEquals(Integer.parseInt(octal, 8), new OctalMode().convert(text));
    }

    @ParameterizedTest(name = "\"{0}\" is refused")
    @ValueSource(strings = {"", "0800", "01000", "1777", "abc", "-600", "0x1ff", "0o600", "7777777777777"})
    void modesOutsideOctal0777AreRefused(String text) {
        assertThrows(TypeConversionException.class, () -> new OctalMode().convert(text));
    }

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource({"0, 0", "7, 7", "32768, 32768", "2147483648, 2147483648", "007, 7", "999999999999999999, 999999999999999999"})
    void countsAreDecimal(String text, long value) {
        assertEquals(value, new Counts.NonNegative().convert(text));
    }

    @ParameterizedTest(name = "\"{0}\" is refused")
    @ValueSource(strings = {"", "-1", "+1", "1.0", "0x10", "1e3", "one"})
    void malformedCountsAreRefused(String text) {
        assertThrows(TypeConversionException.class, () -> new Counts.NonNegative().convert(text));
    }

    @ParameterizedTest(name = "\"{0}\" saturates")
    @ValueSource(strings = {"9223372036854775807", "9223372036854775808", "99999999999999999999",
        "9999999999g", "8388608t", "16777216t", "99999999999999999999k"})
    void wellFormedNumbersOfAnySizeSaturateForTheLimitCheck(String text) {
        // CLI.md: a value that parses but exceeds a limit is exit 1 (the command's check), not 2.
        assertEquals(Long.MAX_VALUE, new Sizes().convert(text));
        if (text.chars().allMatch(Character::isDigit)) {
            assertEquals(Long.MAX_VALUE, new Counts.NonNegative().convert(text));
        }
    }

    @ParameterizedTest(name = "\"{0}\" is refused where at least 1 is needed")
    @ValueSource(strings = {"0", "00"})
    void zeroIsRefusedWhereAPositiveNumberIsNeeded(String text) {
        assertThrows(TypeConversionException.class, () -> new Counts.Positive().convert(text));
        assertThrows(TypeConversionException.class, () -> new Sizes.Positive().convert(text));
        assertEquals(1, new Counts.Positive().convert("1"));
        assertEquals(1024, new Sizes.Positive().convert("1k"));
    }
}
