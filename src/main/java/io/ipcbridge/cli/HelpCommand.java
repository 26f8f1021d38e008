package io.ipcbridge.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help.ColorScheme;
import picocli.CommandLine.IHelpCommandInitializable2;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * {@code help [COMMAND...]}: the usage help of the command that the names lead to from the parent
 * ({@code ipcbridge help mq send} is that of {@code mq send}), on stdout. picocli's own help command
 * looks at the first name only and ignores the others; here a name that is no command, or an
 * unknown option, is a usage error (exit 2).
 */
@Command(name = "help", helpCommand = true, mixinStandardHelpOptions = true, version = Main.VERSION,
        description = "Shows the usage help of COMMAND, which may be a path: help mq send.")
final class HelpCommand implements IHelpCommandInitializable2, Runnable {
    @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "The command, and its subcommands.")
    List<String> path = new ArrayList<>();

    private CommandLine self;
    private ColorScheme colors;
    private PrintWriter out;

    @Override
    public void init(CommandLine helpCommandLine, ColorScheme colorScheme, PrintWriter outWriter,
            PrintWriter errWriter) {
        self = helpCommandLine;
        colors = colorScheme;
        out = outWriter;
    }

    @Override
    public void run() {
        if (!self.getUnmatchedArguments().isEmpty()) { // picocli lets them pass once help is asked for
            throw new UnmatchedArgumentException(self, self.getUnmatchedArguments());
        }
        CommandLine target = self.getParent();
        for (String name : path) {
            CommandLine sub = target.getSubcommands().get(name);
            if (sub == null) {
                throw new ParameterException(self, "Unknown subcommand '" + name + "' of '"
                        + target.getCommandSpec().qualifiedName() + "'");
            }
            target = sub;
        }
        target.usage(out, colors);
    }
}
