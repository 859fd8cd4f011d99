export type { LoadOptions, LoadReport, Progress } from './load.js';
export { runLoad } from './load.js';
export type { MailSource } from './mail-source.js';
export { folderMails, generatedMails } from './mail-source.js';
