package io.ipcbridge.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import picocli.CommandLine.Option;

/**
 * The shared {@code --json} option of the {@code info} commands, and their one way of printing: one
 * "{@code key: value}" line per field (the keys are the JSON keys), or with {@code --json} one JSON
 * object on one line.
 */
final class JsonOption {
    @Option(names = "--json", description = "One JSON object on one line, with the same kebab-case keys.")
    boolean json;

    /**
     * Prints {@code fields} as this option says; a null value or an empty list prints as "-" (null or
     * [] in JSON), a list as its values separated by spaces.
     */
    void print(PrintWriter out, Map<String, ?> fields) {
        if (json) {
            out.println(Json.object(fields));
        } else {
            fields.forEach((key, value) -> out.println(key + ": " + text(value)));
        }
        out.flush();
    }

    private static String text(Object value) {
        if (value instanceof List<?> list) {
            return list.isEmpty() ? "-" : list.stream().map(String::valueOf).collect(Collectors.joining(" "));
        }
        return value == null ? "-" : value.toString();
    }
}
