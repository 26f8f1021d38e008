/** What every mechanism shares: {@link io.ipcbridge.Descriptor}, the exceptions, and the {@link io.ipcbridge.Reaper} of names whose creator died. */
package io.ipcbridge;
