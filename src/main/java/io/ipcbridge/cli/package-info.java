/** The {@code ipcbridge} command line (picocli), a thin shell over the public API: {@link io.ipcbridge.cli.Main}. */
package io.ipcbridge.cli;
