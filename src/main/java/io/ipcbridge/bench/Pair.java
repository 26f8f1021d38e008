package io.ipcbridge.bench;

/**
 * Who talks to whom in a run: the active side (it pings, or it sends the bytes) and the passive side
 * (it echoes, or it receives them), each C ({@code native-tests/bench_peer}), ipcbridge, the JDK's
 * own API or Python.
 */
public enum Pair {
    /** Two C processes: the physical limit on this machine. */
    C_C("c-c", Side.C, Side.C),
    /** ipcbridge Java against a C process. */
    JAVA_C("java-c", Side.IPCBRIDGE, Side.C),
    /** Two Java threads, both through ipcbridge. */
    JAVA_JAVA("java-java", Side.IPCBRIDGE, Side.IPCBRIDGE),
    /** The JDK's own route against a C process. */
    JDK_C("jdk-c", Side.JDK, Side.C),
    /** The JDK's own route on both ends, two threads. */
    JDK_JAVA("jdk-java", Side.JDK, Side.JDK),
    /** Two Python processes ({@code multiprocessing}). */
    PYTHON_PYTHON("python-python", Side.PYTHON, Side.PYTHON),
    /** ipcbridge Java against a Python process. */
    JAVA_PYTHON("java-python", Side.IPCBRIDGE, Side.PYTHON);

    /** What runs one side. */
    public enum Side {
        /** a bench_peer process */
        C,
        /** a Java thread on ipcbridge */
        IPCBRIDGE,
        /** a Java thread on the JDK's API */
        JDK,
        /** a python3 process */
        PYTHON
    }

    private final String id;
    private final Side active;
    private final Side passive;

    Pair(String id, Side active, Side passive) {
        this.id = id;
        this.active = active;
        this.passive = passive;
    }

    /** The id used on the command line and in the outputs, e.g. {@code java-c}. */
    public String id() {
        return id;
    }

    /** The side that pings or sends. */
    public Side active() {
        return active;
    }

    /** The side that echoes or receives. */
    public Side passive() {
        return passive;
    }
}
