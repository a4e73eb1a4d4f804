// An unattended install (an answer file): the daemon reads the answers and
// checks their disk first, then, once every check has passed, partitions,
// formats and mounts the disk itself (with the answer file's layout, or the
// configuration's own disko scripts), and releases it at the end.
import { DiskSession } from '../disk/disk-session.js';
import { checkDiskoMounted, eraseForDisko, runDiskoScript } from '../disk/disko.js';
import { formatPartitions } from '../disk/format.js';
import { planPartitions } from '../disk/layout.js';
import { mountTarget } from '../disk/mount.js';
import { partitionDisk, tryCommand } from '../disk/partition.js';
import { DISKO_FILE_SYSTEMS, plannedFileSystemsNix } from '../disk/planned-file-systems.js';
import { releaseDisk } from '../disk/release-disk.js';
import { setPassword } from '../install/set-password.js';
import { prepareConfig, probeMountedFileSystems } from '../prepare/prepare-config.js';
import { TARGET_LOG_DIR } from '../report/write-target-log.js';
import { InstallError } from '../common/install-error.js';
import { checkTargetRoot } from '../validate/check-target-root.js';
import { PARTIAL_TARGET_AGAIN, buildStage, copyStage, hardwareStage, installStage, reportStage, stageConfigStage, validateStage } from './shared-stages.js';
import { defineStage, type InstallRun, type Pipeline } from './stage.js';
import { checkDiskFits, layoutFirmware, readPlan, unattendedChoices } from './unattended.js';


// The answer file's password for its user, on the installed system (a fleet target's too).
export async function setAnswersPassword({ ctx, plan }: InstallRun): Promise<void> {
  if (plan!.answers.user && plan!.answers.passwordHash) await setPassword(ctx, plan!.answers.user, plan!.answers.passwordHash);
}

// What the disk stages need, there once validate has passed.
function disk(install: InstallRun) {
  const { plan, checked, session } = install;
  if (!plan || !checked || !session) throw new InstallError('internal-error', 'The disk was not checked before it was changed', 'This is a bug in the installer; please report it with the log.');
  return { plan, checked, session };
}

function layoutOf(install: InstallRun) {
  const layout = install.plan?.answers.layout;
  if (!layout) throw new InstallError('internal-error', 'No layout to partition with', 'This is a bug in the installer; please report it with the log.');
  return layout;
}

// From here on the disk is changed: disko's own scripts erase the old signatures, or sfdisk partitions it.
export const partitionStage = defineStage(
  'partition',
  async (install) => {
    const { ctx } = install;
    const { plan, checked } = disk(install);
    if (plan.disko) {
      if (checked.signatures.length > 0) await eraseForDisko(ctx, checked.disk);
      ctx.progress(1);
    } else install.partitioned = await partitionDisk(ctx, checked.disk, planPartitions(layoutOf(install)), checked.signatures.length > 0);
  },
  // Everything mounted is unmounted and every LUKS mapping closed, also after a failure or a cancel
  // (whose signal is spent: the release has its own).
  async (install, state) => {
    const { ctx, session } = install;
    if (!session) return null;
    const problems = await releaseDisk({ ...ctx, signal: new AbortController().signal }, session);
    const failure =
      problems.length > 0 && state === 'succeeded'
        ? new InstallError('disk-release-failed', 'The installed disk could not be released cleanly', `The system is installed, but: ${problems.join('; ')}.\nDo not reboot or power off until it is unmounted (findmnt ${session.mountPoint}); the log says which process held it.`)
        : null;
    // After the unmount, the log is where the installed system will see it.
    if (install.targetLogPath) install.targetLogPath = `/${TARGET_LOG_DIR}/install.log`;
    return failure;
  },
);

export const formatStage = defineStage('format', async (install) => {
  const { ctx } = install;
  const { plan, checked, session } = disk(install);
  if (plan.disko) {
    await runDiskoScript(ctx, plan.disko.facts.formatScript, 'format', checked.disk);
    // disko names partitions by /dev/disk/by-partlabel (udev's links); its script settles udev after each one, and so does this, before mounting.
    await tryCommand(ctx, 'udevadm', ['settle', '--timeout=30']);
    ctx.progress(1);
  } else install.formatting = await formatPartitions(ctx, install.partitioned!, layoutOf(install), session.mappers);
});

// The answer file's layout, formatted, mounted at the session's mount point and checked as a mounted target (a fleet target's mount stage too).
export async function mountLayout(install: InstallRun): Promise<void> {
  const { ctx, session, formatting } = install;
  await mountTarget(ctx, session!, formatting!);
  install.formatted = formatting;
  await checkTargetRoot(ctx.root);
}

// disko's own mount script, its mounts read back (never assumed), and the mounted target's checks (a fleet target's too).
export async function mountDisko(install: InstallRun): Promise<void> {
  const { ctx } = install;
  const { plan, checked, session } = disk(install);
  await runDiskoScript(ctx, plan.disko!.facts.mountScript, 'mount', checked.disk);
  await checkDiskoMounted(ctx, session, checked.disk);
  ctx.progress(1);
  install.formatted = { root: session.mountPoint, esp: null, swap: null, partitions: [] };
  await checkTargetRoot(ctx.root);
}

// Mounted, the target gets a mounted target's checks, and the hardware probe sees its file systems
// (with disko, its module declares them; the probe gives the rest).
const mountStage = defineStage('mount', async (install) => {
  const { ctx } = install;
  if (disk(install).plan.disko) {
    await mountDisko(install);
    await probeMountedFileSystems(ctx, install.prepared!, [], true);
  } else {
    await mountLayout(install);
    await probeMountedFileSystems(ctx, install.prepared!, install.formatted!.partitions);
  }
});

const DISK_STAGES = [partitionStage, formatStage, mountStage];

export const UNATTENDED: Pipeline = {
  async checkRequest() {},
  // The answer file and its disk, as a mounted target's own checks come first; then a private mount point for it.
  async start(install) {
    const { ctx, request, source, settings } = install;
    ctx.log('daemon', `unattended install from ${source}, answers in ${request.answers}`);
    const plan = (install.plan = await readPlan(ctx, request.answers!, source, settings));
    // A disko layout mounts at the configuration's own rootMountPoint, known (and checked) after validate.
    if (plan.answers.layout !== null) {
      install.session = await DiskSession.create();
      ctx.root = install.session.mountPoint;
    }
  },
  stages: [
    // Before the disk holds a file system, the ones the layout will make stand in for the probe's
    // (with disko, none: its module declares the file systems).
    hardwareStage(({ ctx, source, plan }) => prepareConfig(ctx, source, { choices: unattendedChoices(plan!) }, { plannedFileSystems: plan!.answers.layout ? plannedFileSystemsNix(plan!.answers.layout) : DISKO_FILE_SYSTEMS })),
    validateStage(
      ({ plan }) => {
        const { layout, user, desktop, choices } = plan!.answers;
        const firmware = layoutFirmware(layout);
        return { firmware, firmwareLine: `${layout ? `the layout ${layout.type}` : 'a disko layout (as this machine booted)'} starts the machine with ${firmware === 'efi' ? 'UEFI' : 'a BIOS'}`, user, desktop, hostname: choices.hostname };
      },
      async (install, validation) => {
        const { ctx, source, settings } = install;
        const plan = install.plan!;
        const checked = (install.checked = await checkDiskFits(ctx, plan, source, settings, install.prepared!, validation.facts));
        ctx.progress(1);
        if (plan.disko) {
          const session = (install.session = await DiskSession.forDisko({ rootMountPoint: plan.disko.facts.rootMountPoint, diskName: checked.disk.name }));
          ctx.root = session.mountPoint;
        }
      },
    ),
    ...DISK_STAGES,
    stageConfigStage(({ plan }) => [plan!.answers.file, ...(plan!.answers.layout?.encrypt ? [plan!.answers.layout.encrypt.passphraseFile] : [])]),
    buildStage,
    copyStage,
    installStage(setAnswersPassword),
    reportStage,
  ],
  again({ plan, formatted }, phase) {
    if (!plan) return PARTIAL_TARGET_AGAIN;
    return formatted
      ? `The disk ${plan.answers.disk} may hold a partial system; start the install again to redo it (the answer file needs "wipe": true now).`
      : `The disk ${plan.answers.disk} ${DISK_STAGES.some((stage) => stage.phase === phase) ? 'may be partly partitioned; start the install again with "wipe": true' : 'was not touched'}.`;
  },
};
