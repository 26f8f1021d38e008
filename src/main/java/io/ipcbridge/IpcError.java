package io.ipcbridge;

/**
 * What every ipcbridge exception that stems from a failed system call tells: the call, the object
 * it was made on, and the errno. The message always reads {@code call(object): ENAME (text)}, e.g.
 * {@code mkfifo(/tmp/x): EEXIST (File exists)}.
 */
public interface IpcError {
    /** The errno number, e.g. 17. */
    int errno();

    /** The errno symbol, e.g. {@code "EEXIST"}. */
    String errnoName();

    /** The failed call, e.g. {@code "mkfifo"}. */
    String call();

    /** The object the call was made on: a path, a name or a descriptor, e.g. {@code "/tmp/x"}. */
    String object();
}
