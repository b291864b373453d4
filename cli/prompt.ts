import { createInterface } from 'node:readline';

/** Reads one line; hides what is typed when asked to and stdin is a terminal. Without a terminal, reads stdin. */
export function prompt(question: string, hidden = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
    if (hidden && process.stdin.isTTY) {
      const write = (rl as unknown as { _writeToOutput: (s: string) => void });
      write._writeToOutput = (s: string) => {
        if (s.includes(question)) process.stderr.write(question);
      };
    }
    rl.question(question, (answer) => {
      if (hidden && process.stdin.isTTY) process.stderr.write('\n');
      resolve(answer.trim()); // before close(): close emits 'close' synchronously
      rl.close();
    });
    rl.on('close', () => reject(new Error('no input')));
  });
}
