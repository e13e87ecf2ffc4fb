import { useState, type FormEvent } from 'react';
import { MAX_USER_TEXT_CHARS } from '../protocol';

/** The typed-input box: Enter (or Send) sends; kept when sending failed. */
export function MessageInput({ disabled, onSend }: { disabled: boolean; onSend(text: string): boolean }) {
  const [text, setText] = useState('');
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (!disabled && text.trim() !== '' && onSend(text)) setText('');
  };
  return (
    <form className="message-form" onSubmit={submit} aria-label="Type a message">
      <input
        type="text"
        aria-label="Message"
        data-testid="message-input"
        placeholder={disabled ? 'Start a session to type' : 'Type instead of speaking…'}
        value={text}
        maxLength={MAX_USER_TEXT_CHARS}
        autoComplete="off"
        disabled={disabled}
        onChange={(e) => setText(e.target.value)}
      />
      <button type="submit" className="primary" data-testid="send" disabled={disabled || text.trim() === ''}>
        Send
      </button>
    </form>
  );
}
